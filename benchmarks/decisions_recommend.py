"""Recommend CPU time at 100 / 1,000 / 2,500 offers (3 creatives each), debug off and on, and DynamoDB calls.

    .venv/bin/python -m benchmarks.decisions_recommend

Runs the real POST /api/v1/recommend handler against moto: the catalog is written through the repository,
one warm-up call fills the instance's catalog snapshot, then every call is timed with process CPU time
(moto's own work included, so these are upper bounds on Lambda CPU). DynamoDB round trips are counted
with a botocore before-call hook per warm call.
"""

import benchmarks.offline_aws  # noqa: F401  (first: fake AWS credentials before boto3 loads)

# isort: split

import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.update({"RATE_LIMITS_ENABLED": "false", "CATALOG_CACHE_TTL_SECONDS": "300"})

from moto import mock_aws

from arbiter import aws, clock, ids
from arbiter.auth import keys
from arbiter.decisions import cache, repository
from arbiter.devstack.tables import create_tables
from tests.client import ApiClient

SIZES = (100, 1_000, 2_500)
CALLS = 200
BODY = {
    "customerId": "CUST001",
    "channel": "web",
    "placement": "hero_banner",
    "limit": 5,
    "segments": ["high_value"],
    "attributes": {"tier": "gold", "propensityScores": {"credit_card": 0.8}},
}


def seed(tenant: str, offers: int) -> None:
    now = clock.now_iso()
    for n in range(offers):
        offer_id = ids.new_id("off")
        creatives = [
            {
                "id": ids.new_id("dcr"),
                "offer_id": offer_id,
                "name": f"c{c}",
                "channel_type": ("web", "email", "web")[c],
                "channel_name": None,
                "channel_id": None,
                "placement": ("hero_banner", None, "sidebar")[c],
                "template_type": "banner",
                "content": {"headline": f"Offer {n}"},
                "personalization": {},
                "constraints": {},
                "weight": 100 - c * 10,
                "ab_test_variant": None,
                "locale": None,
                "created_at": now,
            }
            for c in range(3)
        ]
        repository.put_new_entity(
            "OFFER",
            tenant,
            offer_id,
            {
                "id": offer_id,
                "name": f"Offer {n}",
                "category": f"cat{n % 20}",
                "sub_category": None,
                "priority": n % 100,
                "weight": 100,
                "value": 0,
                "propensity_key": None,
                "start_at": None,
                "end_at": None,
                "expires_at": None,
                "status": "active",
                "metadata": {},
                "creatives": creatives,
                "created_at": now,
                "updated_at": now,
            },
        )
    for n, body in enumerate(
        [
            {"name": "vip", "type": "segment_required", "segments": ["vip"], "applies_to": {"categories": ["cat3"]}},
            {"name": "gold", "type": "attribute", "condition": {"field": "tier", "operator": "in", "values": ["gold"]}},
        ]
    ):
        repository.put_new_entity(
            "RULE",
            tenant,
            f"qr_{n}",
            {
                "applies_to": {"categories": [], "offer_ids": []},
                "enabled": True,
                "segments": [],
                "condition": None,
                **body,
                "id": f"qr_{n}",
                "created_at": now,
            },
        )
    for n, body in enumerate(
        [
            {"type": "frequency_cap", "scope": "offer", "max_count": 3, "window_seconds": 86400},
            {"type": "cooldown", "scope": "category", "duration_seconds": 86400},
            {"type": "global_cap", "max_count": 50},
        ]
    ):
        repository.put_new_entity(
            "POLICY",
            tenant,
            f"cp_{n}",
            {
                "name": "p",
                "scope": "offer",
                "max_count": None,
                "window_seconds": None,
                "duration_seconds": None,
                "counted_outcomes": ["impression"],
                "trigger_outcomes": ["dismiss"],
                "applies_to": {"categories": [], "offer_ids": []},
                "enabled": True,
                **body,
                "id": f"cp_{n}",
                "created_at": now,
            },
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def fresh_stack(tenant: str) -> Iterator[str]:
    """An empty in-memory stack (tables, key and catalog caches) and a new API key of `tenant`."""
    with mock_aws():
        aws.reset_clients()
        keys.forget_verified_keys()
        cache.clear()
        create_tables(aws.dynamodb_client())
        aws.reset_clients()
        yield keys.create_key(tenant).api_key


def main() -> None:
    # The 2,500-offer row measures past the per-tenant cap of 1,000 offers (docs/decisions.md D9): what it saves.
    repository.MAX_PER_TENANT["OFFER"] = max(SIZES)
    rows = []
    for size in SIZES:
        tenant = f"bench-{size}"
        with fresh_stack(tenant) as key:
            seed(tenant, size)
            api = ApiClient()
            headers = {"X-Tenant-Id": tenant}
            calls: list[str] = []
            aws.dynamodb_client().meta.events.register(
                "before-call.dynamodb", lambda model, _calls=calls, **_: _calls.append(model.name)
            )
            aws.dynamodb_resource().meta.client.meta.events.register(
                "before-call.dynamodb", lambda model, _calls=calls, **_: _calls.append(model.name)
            )
            assert api.post("/api/v1/recommend", key=key, json=BODY, headers=headers).status == 200  # warm-up
            for debug in (False, True):
                times = []
                calls.clear()
                for _ in range(CALLS):
                    start = time.process_time()
                    response = api.post("/api/v1/recommend", key=key, json={**BODY, "debug": debug}, headers=headers)
                    times.append((time.process_time() - start) * 1000)
                    assert response.status == 200, response.body
                per_call = sorted(set(calls))
                rows.append(
                    (size, debug, statistics.median(times), percentile(times, 0.99), len(calls) / CALLS, per_call)
                )
    print("| offers (x3 creatives) | debug | CPU p50 ms | CPU p99 ms | DynamoDB calls per warm call |")
    print("| --- | --- | --- | --- | --- |")
    for size, debug, p50, p99, per_call, names in rows:
        print(f"| {size:,} | {'on' if debug else 'off'} | {p50:.1f} | {p99:.1f} | {per_call:g} ({', '.join(names)}) |")
    print(json.dumps({"calls_per_size": CALLS}))


if __name__ == "__main__":
    main()
