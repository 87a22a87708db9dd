"""POST /v2/recommend."""

from arbiter.api.offers import recommend
from arbiter.auth.credentials import Credential
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(
    recommend.router, rate_limit=RateLimitClass.OFFERS, credential=Credential.API_KEY_HEADER
)
