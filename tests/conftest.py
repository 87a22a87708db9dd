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

import threading

import botocore.client
import pytest
from moto import mock_aws

from arbiter import aws, clock
from arbiter.ads.serving import cache as serving_cache
from arbiter.auth import keys
from arbiter.devstack import moto_transactions
from arbiter.devstack.tables import create_tables
from tests.ads_fixtures import IN_SEED_SCHEDULE, ManualClock
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


@pytest.fixture
def seed_campaign_running():
    """A clock that stays inside the seed campaign's schedule (2026-06-01 to 2026-08-31) until a test moves it
    (`seed_campaign_running.moment = ...`): the seed campaign can only be activated and billed while it could serve."""
    manual = ManualClock(IN_SEED_SCHEDULE)
    clock.set_clock(manual)
    yield manual
    clock.set_clock(None)


@pytest.fixture
def atomic_requests(monkeypatch):
    """DynamoDB applies each request atomically; moto's in-process backend does not (two threads' ADDs can
    interleave inside moto, and a cancelled transaction restores tables over other threads' writes). Serialize
    whole DynamoDB requests, as DynamoDB does; the requests' own steps (key check, reads, computing an update, the
    transaction, a retry) still interleave freely between them."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    lock = threading.Lock()

    def process_request(self, request):
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)


def _record_api_calls(monkeypatch, record) -> None:
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        record(operation_name, api_params)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)


@pytest.fixture
def dynamodb_calls(monkeypatch) -> list[str]:
    """Names of every DynamoDB API call made through any boto3 client, from the fixture's set-up on (clear() it
    before the calls counted; monkeypatch.undo() stops it)."""
    calls: list[str] = []
    _record_api_calls(monkeypatch, lambda operation_name, api_params: calls.append(operation_name))
    return calls


@pytest.fixture
def dynamodb_table_calls(monkeypatch) -> list[tuple[str, str | None]]:
    """(name, TableName) of every call as `dynamodb_calls` records them."""
    calls: list[tuple[str, str | None]] = []
    _record_api_calls(
        monkeypatch, lambda operation_name, api_params: calls.append((operation_name, api_params.get("TableName")))
    )
    return calls
