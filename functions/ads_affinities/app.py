"""Affinities: list, add, delete, bulk replace."""

from arbiter.api.ads import affinities
from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for(affinities.router)
