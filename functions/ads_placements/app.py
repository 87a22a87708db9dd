"""Developer placements: POST|GET|PATCH|DELETE /api/ads/placements/{game_id}."""

from arbiter.api.ads import placements
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(placements.router, rate_limit=RateLimitClass.MANAGEMENT)
