"""Recommend CPU time with a tenant's catalog at its caps (docs/decisions.md D9): 1,000 offers plus as many
qualification rules, contact policies and guardrails as a tenant may keep, each kind alone and all together.

    .venv/bin/python -m benchmarks.decisions_catalog_caps

Worst cases for each kind: every rule applies to every offer and passes (so each is checked for each offer),
every policy is a frequency cap over a 500-event contact history (the most the history keeps) that passes, every
guardrail a passing min_score. Same method as benchmarks.decisions_recommend (real handler on moto, warm
snapshot, process CPU per call including moto's own work: upper bounds on Lambda CPU).
"""

import benchmarks.offline_aws  # noqa: F401  (first: fake AWS credentials before boto3 loads)

# isort: split

import os
import statistics
import time

os.environ.update({"RATE_LIMITS_ENABLED": "false", "CATALOG_CACHE_TTL_SECONDS": "300"})


from arbiter import clock
from arbiter.decisions import repository
from benchmarks.decisions_recommend import BODY, fresh_stack, percentile, seed
from tests.client import ApiClient

OFFERS = 1_000
CALLS = 100
CAPS = repository.MAX_PER_TENANT
# (rules, policies, guardrails, a full contact history), on top of seed()'s 2 rules and 3 policies
ROWS = (
    (0, 0, 0, False),
    (0, 0, 0, True),
    (CAPS["RULE"] - 2, 0, 0, False),
    (0, CAPS["POLICY"] - 3, 0, True),
    (0, 0, CAPS["GUARDRAIL"], False),
    (CAPS["RULE"] - 2, CAPS["POLICY"] - 3, CAPS["GUARDRAIL"], True),
)


def add_worst_cases(tenant: str, rules: int, policies: int, guardrails: int) -> None:
    now = clock.now_iso()
    everything = {"categories": [], "offer_ids": []}
    for n in range(rules):
        condition = {"field": "tier", "operator": "in", "values": ["gold", f"v{n}"], "value": None}
        body = {"name": "r", "type": "attribute", "segments": [], "condition": condition, "applies_to": everything}
        repository.put_new_entity(
            "RULE", tenant, f"xr_{n}", {**body, "enabled": True, "id": f"xr_{n}", "created_at": now}
        )
    for n in range(policies):
        body = {
            "name": "p",
            "type": "frequency_cap",
            "scope": "offer",
            "max_count": 500,
            "window_seconds": 30 * 86_400,
            "duration_seconds": None,
            "counted_outcomes": ["impression"],
            "trigger_outcomes": ["dismiss"],
            "applies_to": everything,
        }
        repository.put_new_entity(
            "POLICY", tenant, f"xp_{n}", {**body, "enabled": True, "id": f"xp_{n}", "created_at": now}
        )
    for n in range(guardrails):
        body = {
            "name": "g",
            "type": "min_score",
            "category": None,
            "max_count": None,
            "min_score": 0.0,
            "max_share": None,
        }
        repository.put_new_entity(
            "GUARDRAIL", tenant, f"xg_{n}", {**body, "enabled": True, "id": f"xg_{n}", "created_at": now}
        )


def add_full_history(tenant: str, offer_ids: list[str]) -> None:
    """500 impressions, one a minute until yesterday's end: inside the 30-day frequency caps above (each folds
    them all), outside seed()'s 1-day cap and daily global cap, so no policy drops a candidate."""
    now = int(clock.now().timestamp())
    today = now - now % 86_400
    events = [
        {"ts": today - 60 * (500 - n), "t": "impression", "o": offer_ids[n % len(offer_ids)], "c": "x", "k": "cat1"}
        for n in range(500)
    ]
    repository.interactions_table().put_item(
        Item={
            **repository.history_key(tenant, BODY["customerId"]),
            "events": repository.encode(events),
            "rev": 1,
            "expires_at": now + 90 * 86_400,
        }
    )


def measure(rules: int, policies: int, guardrails: int, history: bool) -> tuple[float, float]:
    tenant = "bench-caps"
    with fresh_stack(tenant) as key:
        seed(tenant, OFFERS)
        add_worst_cases(tenant, rules, policies, guardrails)
        if history:
            add_full_history(tenant, [body["id"] for kind, body in repository.load_catalog(tenant) if kind == "OFFER"])
        api = ApiClient()
        headers = {"X-Tenant-Id": tenant}
        assert api.post("/api/v1/recommend", key=key, json=BODY, headers=headers).status == 200  # warm-up
        times = []
        for _ in range(CALLS):
            start = time.process_time()
            response = api.post("/api/v1/recommend", key=key, json=BODY, headers=headers)
            times.append((time.process_time() - start) * 1000)
            assert response.status == 200, response.body
        return statistics.median(times), percentile(times, 0.99)


def main() -> None:
    print(f"{OFFERS:,} offers (x3 creatives), {CALLS} warm calls per row")
    print("| qualification rules | contact policies | guardrails | contact history | CPU p50 ms | CPU p99 ms |")
    print("| ---: | ---: | ---: | --- | ---: | ---: |")
    for rules, policies, guardrails, history in ROWS:
        p50, p99 = measure(rules, policies, guardrails, history)
        events = "500 events" if history else "empty"
        print(f"| {rules + 2} | {policies + 3} | {guardrails} | {events} | {p50:.1f} | {p99:.1f} |", flush=True)


if __name__ == "__main__":
    main()
