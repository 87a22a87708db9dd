"""POST /api/ads/match."""

from arbiter.api.ads import match
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(match.router, rate_limit=RateLimitClass.MATCH)
