"""Lazily created boto3 clients: nothing talks to AWS at import time (which would fight moto in tests)."""

from functools import cache

import boto3
from botocore.config import Config

from arbiter.settings import get_settings

_CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5)


@cache
def dynamodb_client():
    settings = get_settings()
    return boto3.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        config=_CLIENT_CONFIG,
    )


@cache
def dynamodb_resource():
    settings = get_settings()
    return boto3.resource(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        config=_CLIENT_CONFIG,
    )


@cache
def secretsmanager_client():
    # The endpoint comes from boto3's own AWS_ENDPOINT_URL_SECRETS_MANAGER when set (the deploy check's moto).
    return boto3.client("secretsmanager", region_name=get_settings().aws_region, config=_CLIENT_CONFIG)


def campaigns_table():
    return dynamodb_resource().Table(get_settings().campaigns_table)


def reset_clients() -> None:
    """Forget cached settings and clients (tests switch endpoints and tables between cases)."""
    get_settings.cache_clear()
    dynamodb_client.cache_clear()
    dynamodb_resource.cache_clear()
    secretsmanager_client.cache_clear()
