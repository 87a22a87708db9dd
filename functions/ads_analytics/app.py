"""Campaign analytics: GET /api/ads/campaigns/{id}/stats and /analytics/{daily,creatives,geo,affinities,pacing}."""

from arbiter.api.ads import analytics
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(analytics.router, rate_limit=RateLimitClass.ANALYTICS)
