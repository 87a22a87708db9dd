"""GET /health."""

from arbiter.api import health
from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for(health.router)
