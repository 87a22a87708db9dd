"""POST /api/v1/respond."""

from arbiter.api.decisions import respond
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(respond.router, rate_limit=RateLimitClass.DECISIONS)
