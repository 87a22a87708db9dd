"""Decision catalog: offers, creatives, qualification rules, contact policies, guardrails, flows (/api/v1/...)."""

from arbiter.api.decisions import catalog
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(catalog.router, rate_limit=RateLimitClass.MANAGEMENT)
