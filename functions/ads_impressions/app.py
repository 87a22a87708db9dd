"""POST /api/ads/impressions."""

from arbiter.api.ads import impressions
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(impressions.router, rate_limit=RateLimitClass.IMPRESSIONS)
