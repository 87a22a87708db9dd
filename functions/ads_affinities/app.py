"""Affinities: list, add, delete, bulk replace."""

from arbiter.api.ads import affinities
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(affinities.router, rate_limit=RateLimitClass.MANAGEMENT)
