"""Shared fixtures: moto-backed DynamoDB built from template.yaml, and a client that calls the real handlers."""

import os

# Before anything imports boto3 or Powertools: fake credentials, no X-Ray, quiet logs.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "arbiter-test",
        "POWERTOOLS_METRICS_NAMESPACE": "ArbiterTest",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "IMPRESSION_TOKEN_SECRET": "test-impression-token-secret-0123456789",
    }
)
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)

import pytest
from moto import mock_aws

from arbiter import aws
from arbiter.ads.serving import cache as serving_cache
from arbiter.auth import keys
from arbiter.devstack import moto_transactions
from arbiter.devstack.tables import create_tables
from tests.client import ApiClient


@pytest.fixture
def dynamodb():
    """A fresh in-process DynamoDB with every table of template.yaml."""
    with mock_aws():
        aws.reset_clients()
        keys.forget_verified_keys()
        serving_cache.clear()
        create_tables(aws.dynamodb_client())
        aws.reset_clients()  # settings re-read with the table names just exported
        yield aws.dynamodb_client()
    aws.reset_clients()
    keys.forget_verified_keys()
    serving_cache.clear()


@pytest.fixture
def api(dynamodb) -> ApiClient:
    return ApiClient()


@pytest.fixture
def tenant_key(dynamodb) -> str:
    return keys.create_key("tenant-a").api_key


@pytest.fixture
def other_tenant_key(dynamodb) -> str:
    return keys.create_key("tenant-b").api_key


@pytest.fixture
def fast_transactions():
    """moto copies whole tables per transaction item; this keeps a transaction O(its items) for heavy tests."""
    moto_transactions.install()
    yield
    moto_transactions.uninstall()
