"""Impressions table stream -> reporting rollups (DynamoDB event source, partial batch failures)."""

from arbiter.ads.reporting.aggregator import lambda_handler

__all__ = ["lambda_handler"]
