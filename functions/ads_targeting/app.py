"""Geo targets and blocklist rules of a campaign."""

from arbiter.api.ads import targeting
from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for(targeting.router)
