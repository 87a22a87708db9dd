"""DynamoDB round trips per request, per endpoint: the cost users pay.

Runs the seed's ads flow, then the offers flow (seed 000: a game offer, /v2/recommend, /v1/feedback), in-process
against moto (the real handlers, routed as template.yaml routes them), counting the DynamoDB API calls each
request makes, cold (first call on a fresh instance state) and warm (the same request again).
Run: `.venv/bin/python -m benchmarks.dynamodb_calls`.
"""

import benchmarks.offline_aws  # noqa: F401  (first: fake AWS credentials before boto3 loads)

# isort: split

import warnings
from collections import Counter

from moto import mock_aws

from arbiter import aws
from arbiter.auth import keys
from arbiter.devstack.gateway import Gateway
from arbiter.devstack.tables import create_tables

warnings.filterwarnings("ignore")

CAMPAIGN = {
    "name": "Bench",
    "budget_cents": 500000,
    "cpm_bid_cents": 250,
    "daily_cap_cents": 25000,
    "priority": 7,
    "target_categories": ["simulation"],
}
CREATIVE = {"creative_type": "narrative_hook", "brand_name": "Acme", "narrative_hook": "An Acme Shield logo."}
PLACEMENT = {"creator_id": "dev_1", "placement_types": ["narrative_hook"], "revenue_share_pct": 70}
MATCH = {
    "game_id": "bench_game",
    "user_id": "player_1",
    "player_geo": {"country_code": "US"},
    "game_context": {"category": "simulation", "narrative": "defense budget", "mood_tags": ["tense"]},
    "session_id": "sess_1",
}

# Offers (seed 000): one offer without per-player limits (with max_purchases a recommend also reads the
# player's purchases: one GetItem more).
GAME_OFFER = {"offer_id": "gold_500", "name": "500 Gold", "price_usd": 4.99, "grants": ["gold"]}
RECOMMEND = {"game_id": "bench_game", "player_id": "player_1", "session_context": {"level": 12}}
FEEDBACK = {"game_id": "bench_game", "player_id": "player_1", "offer_id": "gold_500", "outcome": "dismissed"}


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: object) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def main() -> None:
    rows: list[tuple[str, str, int, str]] = []
    with mock_aws():
        aws.reset_clients()
        create_tables(aws.dynamodb_client())
        aws.reset_clients()
        key = keys.create_key("bench").api_key
        keys.forget_verified_keys()
        counter = CallCounter()
        client = aws.dynamodb_client()
        client.meta.events.register("before-call.dynamodb.*", counter)
        aws.dynamodb_resource().meta.client.meta.events.register("before-call.dynamodb.*", counter)
        gateway = Gateway()
        auth = {"Authorization": f"Bearer {key}"}

        def measure(label: str, method: str, path: str, body=None, expect=(200, 201, 204), headers=None) -> dict:
            response = gateway.request(method, path, headers=headers or auth, body=body)
            assert response.status in expect, (label, response.status, response.body)
            calls = counter.take()
            rows.append((label, response.function or "?", sum(calls.values()), ", ".join(sorted(calls))))
            return response.json() or {}

        measure(
            "register (cold key cache)",
            "POST",
            "/api/ads/register",
            {"company_name": "Acme", "contact_email": "a@acme.com"},
        )
        measure("deposit (warm)", "POST", "/api/ads/deposit", {"amount_cents": 100000})
        campaign = measure("create campaign", "POST", "/api/ads/campaigns", CAMPAIGN)
        cid = campaign["id"]
        measure("add creative", "POST", f"/api/ads/campaigns/{cid}/creatives", CREATIVE)
        measure("get campaign", "GET", f"/api/ads/campaigns/{cid}")
        measure("list campaigns", "GET", "/api/ads/campaigns")
        measure("activate", "POST", f"/api/ads/campaigns/{cid}/activate")
        measure("create placement", "POST", "/api/ads/placements/bench_game", PLACEMENT)
        first = measure("match (cold cache)", "POST", "/api/ads/match", MATCH)
        second = measure("match (warm)", "POST", "/api/ads/match", MATCH)
        token = second.get("impression_token") or first.get("impression_token")
        measure(
            "impression with token",
            "POST",
            "/api/ads/impressions",
            {
                "campaign_id": cid,
                "creative_id": second.get("creative_id"),
                "game_id": "bench_game",
                "impression_token": token,
            },
        )
        measure(
            "impression without token",
            "POST",
            "/api/ads/impressions",
            {"campaign_id": cid, "creative_id": second.get("creative_id"), "game_id": "bench_game"},
        )
        offers = {"X-API-Key": key}
        measure("create game offer", "POST", "/v2/games/bench_game/offers", GAME_OFFER, headers=offers)
        measure("offers recommend (cold catalog and model)", "POST", "/v2/recommend", RECOMMEND, headers=offers)
        measure("offers recommend (warm)", "POST", "/v2/recommend", RECOMMEND, headers=offers)
        measure("offers feedback", "POST", "/v1/feedback", FEEDBACK, headers=offers)
    aws.reset_clients()

    print("| request | function | DynamoDB calls | operations (distinct) |")
    print("| --- | --- | ---: | --- |")
    for label, route, count, operations in rows:
        print(f"| {label} | `{route}` | {count} | {operations} |")


if __name__ == "__main__":
    main()
