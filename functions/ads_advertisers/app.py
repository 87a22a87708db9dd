"""Advertiser management: POST /api/ads/register, GET|PATCH /api/ads/profile, POST /api/ads/deposit."""

from arbiter.api.ads import advertisers
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import RateLimitClass

lambda_handler = lambda_handler_for(advertisers.router, rate_limit=RateLimitClass.MANAGEMENT)
