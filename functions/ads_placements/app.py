"""Developer placements: POST|GET|PATCH|DELETE /api/ads/placements/{game_id}."""

from arbiter.api.ads import placements
from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for(placements.router)
