"""Revenue: GET /api/ads/revenue, GET /api/ads/creator-revenue and GET /api/ads/creator-revenue/{game_id}."""

from arbiter.api.ads import revenue
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(revenue.router, rate_limit=RateLimitClass.ANALYTICS)
