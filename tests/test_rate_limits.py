"""Per-key rate limits (seed 001 "Rate Limits"; seed 002: 1,000 per 60 s per tenant)."""

import random
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter import clock, ratelimit
from arbiter.auth import keys
from arbiter.auth import repository as auth_repository
from arbiter.auth.dependencies import Advertiser
from arbiter.devstack.events import http_api_event
from arbiter.devstack.functions import LambdaContext
from arbiter.http import lambda_handler_for
from arbiter.ratelimit import DynamoCounterStore, RateLimitClass, RateLimiter
from arbiter.settings import get_settings

ACME = {"company_name": "Acme Corp", "contact_email": "ads@acme.com", "website": "https://acme.com"}
WINDOW_START = 1_800_000_000  # a multiple of 60: a window boundary


class ControlledClock:
    def __init__(self, epoch: float):
        self.epoch = epoch

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, UTC)


class CountingStore:
    """The real DynamoDB counter, counting its writes."""

    def __init__(self):
        self.inner = DynamoCounterStore()
        self.writes = 0

    def add(self, counter_id: str, amount: int, expires_at: int) -> int:
        self.writes += 1
        return self.inner.add(counter_id, amount, expires_at)


class BrokenStore:
    def add(self, counter_id: str, amount: int, expires_at: int) -> int:
        raise ConnectionError("counter table unreachable")


@pytest.fixture(autouse=True)
def fresh_limiter():
    ratelimit.install_limiter()
    yield
    ratelimit.install_limiter()


@pytest.fixture
def now():
    controlled = ControlledClock(WINDOW_START + 10)
    clock.set_clock(controlled)
    yield controlled
    clock.set_clock(None)


def probe_handler(rate_limit: RateLimitClass):
    """A function with one authenticated route, to drive a class the Ads functions do not use."""
    router = Router()

    @router.get("/api/test/probe")
    def probe(principal: Advertiser) -> dict:
        return {"tenant_id": principal.tenant_id}

    handler = lambda_handler_for(router, rate_limit=rate_limit)

    def call(api_key: str) -> dict:
        event = http_api_event("GET", "/api/test/probe", headers={"Authorization": f"Bearer {api_key}"})
        return handler(event, LambdaContext("probe"))

    return call


def test_success_carries_the_rate_limit_headers(api, tenant_key, now):
    # Given a fresh window / When a management request succeeds
    response = api.post("/api/ads/register", key=tenant_key, json=ACME)
    # Then it reports the management limit, what is left and when the window resets
    assert response.status == 201
    assert response.headers["x-ratelimit-limit"] == "100"
    assert response.headers["x-ratelimit-remaining"] == "99"
    assert response.headers["x-ratelimit-reset"] == str(WINDOW_START + 60)


def test_errors_of_a_limited_route_carry_the_headers_too(api, tenant_key, now):
    # Missing key: 401, not counted against anyone
    unauthenticated = api.get("/api/ads/profile")
    assert unauthenticated.status == 401
    assert unauthenticated.headers["x-ratelimit-limit"] == "100"
    assert unauthenticated.headers["x-ratelimit-remaining"] == "100"
    assert unauthenticated.headers["x-ratelimit-reset"] == str(WINDOW_START + 60)
    # Unknown campaign: 404, counted
    missing = api.get("/api/ads/campaigns/camp_missing", key=tenant_key)
    assert missing.status == 404
    assert missing.json()["detail"]
    assert missing.headers["x-ratelimit-remaining"] == "99"
    # Malformed body: 400, counted (validation runs inside the limited handler)
    malformed = api.post("/api/ads/register", key=tenant_key, body="{not json")
    assert malformed.status == 400
    assert malformed.headers["x-ratelimit-remaining"] == "98"


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [("POST", "/v2/recommend", "1000"), ("POST", "/v1/feedback", "1000"), ("GET", "/v2/games/g1/offers", "100")],
)
def test_offers_requests_are_counted_against_their_x_api_key_whatever_else_they_send(
    api, tenant_key, now, method, path, limit
):
    # Given an Offers request authenticated by X-API-Key that also carries a Bearer header with no valid key
    sent = {"X-API-Key": tenant_key, "Authorization": "Bearer ak_not_a_key"}
    first = api.request(method, path, headers=sent, json={})
    second = api.request(method, path, headers=sent, json={})
    # Then both are counted against the X-API-Key the route authenticated (the Bearer header does not dodge it)
    assert first.status != 401, first.body
    assert first.headers["x-ratelimit-limit"] == limit
    assert int(first.headers["x-ratelimit-remaining"]) == int(limit) - 1
    assert int(second.headers["x-ratelimit-remaining"]) == int(limit) - 2


def test_unlimited_routes_carry_no_headers(api, now):
    response = api.get("/health")
    assert response.status == 200
    assert "x-ratelimit-limit" not in response.headers


def test_the_101st_management_request_is_refused_until_the_window_resets(api, tenant_key, other_tenant_key, now):
    # Given 100 management requests of one key in one window
    assert api.post("/api/ads/register", key=tenant_key, json=ACME).status == 201
    for _ in range(99):
        assert api.get("/api/ads/profile", key=tenant_key).status == 200
    # When it sends the 101st, 20 s before the window ends
    now.epoch = WINDOW_START + 40
    refused = api.get("/api/ads/profile", key=tenant_key)
    # Then 429 with the seconds until the reset and a detail
    assert refused.status == 429
    assert refused.headers["retry-after"] == "20"
    assert "Rate limit exceeded" in refused.json()["detail"]
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == str(WINDOW_START + 60)
    # And another key is not affected
    assert api.get("/api/ads/campaigns", key=other_tenant_key).status == 200
    # When the window resets, the key works again with a full allowance
    now.epoch = WINDOW_START + 60
    restored = api.get("/api/ads/profile", key=tenant_key)
    assert restored.status == 200
    assert restored.headers["x-ratelimit-remaining"] == "99"
    assert restored.headers["x-ratelimit-reset"] == str(WINDOW_START + 120)


def test_management_functions_share_one_bucket_per_key(api, tenant_key, now):
    # Requests to different management functions count against the same key's 100
    for _ in range(50):
        assert api.get("/api/ads/campaigns", key=tenant_key).status == 200
    for _ in range(50):
        assert api.get("/api/ads/placements/game_unknown", key=tenant_key).status == 404
    assert api.get("/api/ads/profile", key=tenant_key).status == 429


def test_analytics_class_allows_60_per_minute(dynamodb, tenant_key, now):
    store = CountingStore()
    ratelimit.install_limiter(RateLimiter(store))
    call = probe_handler(RateLimitClass.ANALYTICS)
    answers = [call(tenant_key) for _ in range(61)]
    assert [answer["statusCode"] for answer in answers] == [200] * 60 + [429]
    assert answers[0]["headers"]["X-RateLimit-Limit"] == "60"
    assert answers[59]["headers"]["X-RateLimit-Remaining"] == "0"
    assert answers[60]["headers"]["Retry-After"] == "50"
    # Batch size 1: every accepted request is written, the refused one is not
    assert store.writes == 60


def test_match_class_writes_about_once_per_batch(dynamodb, tenant_key, now):
    # Given the match class (1,000 per minute, batch 20) with a counted store
    store = CountingStore()
    ratelimit.install_limiter(RateLimiter(store))
    call = probe_handler(RateLimitClass.MATCH)
    # When 500 requests arrive, far from the limit: one write per 20
    assert all(call(tenant_key)["statusCode"] == 200 for _ in range(500))
    assert store.writes == 500 // 20
    # When the rest of the 1,000 arrive: one write per 20 until the last batch, then one per request
    assert all(call(tenant_key)["statusCode"] == 200 for _ in range(500))
    assert store.writes == (1000 - 20) // 20 + 20  # 69: limit/B - 1 + B
    # Then the 1,001st is refused from the local view, without a write
    assert call(tenant_key)["statusCode"] == 429
    assert store.writes == 69
    principal = keys.verify_key(tenant_key)
    item = dynamodb.get_item(
        TableName=get_settings().interactions_table,
        Key={"PK": {"S": f"RATE#{principal.key_id}#match#{WINDOW_START // 60}"}, "SK": {"S": "RATE"}},
    )["Item"]
    assert item["count"]["N"] == "1000"
    assert int(item["expires_at"]["N"]) > WINDOW_START + 60


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_instances_together_stay_within_the_documented_bound(dynamodb, now, seed):
    # Given two Lambda instances sharing the moto counter table
    policy = RateLimitClass.MATCH.value
    instances = [RateLimiter(DynamoCounterStore()), RateLimiter(DynamoCounterStore())]
    rng = random.Random(seed)
    # When 1,500 requests of one key land on them in random order
    accepted = sum(rng.choice(instances).check("key_shared", policy).allowed for _ in range(1500))
    # Then at least the limit and at most limit + instances x (B - 1) are let through
    assert policy.limit <= accepted <= policy.limit + len(instances) * (policy.batch - 1)


def test_a_stale_instance_overshoots_by_less_than_one_batch(dynamodb, now):
    # Given instance A used the whole allowance while B has never flushed
    policy = RateLimitClass.MATCH.value
    busy, stale = RateLimiter(DynamoCounterStore()), RateLimiter(DynamoCounterStore())
    assert sum(busy.check("key_shared", policy).allowed for _ in range(1000)) == 1000
    # When B gets traffic: it accepts at most B-1 on its stale view, then learns the shared count
    from_stale = sum(stale.check("key_shared", policy).allowed for _ in range(100))
    assert from_stale == policy.batch - 1


def test_decisions_class_counts_per_tenant(dynamodb, now):
    # Two keys of one tenant share the tenant's 1,000; another tenant has its own
    first, second = keys.create_key("tenant-d").api_key, keys.create_key("tenant-d").api_key
    other = keys.create_key("tenant-e").api_key
    for n in range(1000):
        decision = ratelimit.decide(RateLimitClass.DECISIONS, {"authorization": f"Bearer {(first, second)[n % 2]}"})
        assert decision.allowed
    assert not ratelimit.decide(RateLimitClass.DECISIONS, {"authorization": f"Bearer {second}"}).allowed
    assert ratelimit.decide(RateLimitClass.DECISIONS, {"authorization": f"Bearer {other}"}).allowed


def test_counter_outage_fails_open_but_still_limits_locally(dynamodb, tenant_key, now):
    ratelimit.install_limiter(RateLimiter(BrokenStore()))
    call = probe_handler(RateLimitClass.ANALYTICS)
    assert [call(tenant_key)["statusCode"] for _ in range(61)] == [200] * 60 + [429]


def test_a_bad_key_costs_one_key_table_read_however_often_it_is_checked(api, monkeypatch, now):
    # Given a key that does not exist, presented to a limited route three times (each checked by the limiter and
    # by the route's authentication)
    reads = []
    real_get_key = auth_repository.get_key
    monkeypatch.setattr(auth_repository, "get_key", lambda key_hash: reads.append(key_hash) or real_get_key(key_hash))
    answers = [api.get("/api/ads/profile", key="ak_not_a_key").status for _ in range(3)]
    # Then every answer is 401, and the key table was read once
    assert answers == [401, 401, 401]
    assert len(reads) == 1
    # And the memory of refused keys stays bounded when every request brings another random key
    monkeypatch.setattr(keys._refused, "max_entries", 2)
    for n in range(5):
        assert api.get("/api/ads/profile", key=f"ak_random_{n}").status == 401
    assert len(keys._refused) == 2
