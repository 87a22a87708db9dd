"""Simulator: POST /api/ads/campaigns/{id}/simulate and GET .../simulate/options."""

from arbiter.api.ads import simulator
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(simulator.router, rate_limit=RateLimitClass.MANAGEMENT)
