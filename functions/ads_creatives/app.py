"""Creatives: create and list per campaign, update and delete by id."""

from arbiter.api.ads import creatives
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(creatives.router, rate_limit=RateLimitClass.MANAGEMENT)
