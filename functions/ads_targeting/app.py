"""Geo targets and blocklist rules of a campaign."""

from arbiter.api.ads import targeting
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(targeting.router, rate_limit=RateLimitClass.MANAGEMENT)
