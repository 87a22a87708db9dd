"""POST /v1/feedback."""

from arbiter.api.offers import feedback
from arbiter.auth.credentials import Credential
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(
    feedback.router, rate_limit=RateLimitClass.OFFERS, credential=Credential.API_KEY_HEADER
)
