"""GET /openapi.json and GET /docs."""

from arbiter.api import docs
from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for(docs.router)
