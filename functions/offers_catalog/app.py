"""Game offer catalog (/v2/games/{game_id}/offers)."""

from arbiter.api.offers import catalog
from arbiter.auth.credentials import Credential
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(
    catalog.router, rate_limit=RateLimitClass.MANAGEMENT, credential=Credential.API_KEY_HEADER
)
