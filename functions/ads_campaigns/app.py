"""Campaigns: create, list, get, update, activate, pause (/api/ads/campaigns...)."""

from arbiter.api.ads import campaigns
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(campaigns.router, rate_limit=RateLimitClass.MANAGEMENT)
