"""Campaigns: create, list, get, update, activate, pause (/api/ads/campaigns...)."""

from arbiter.api.ads import campaigns
from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for(campaigns.router)
