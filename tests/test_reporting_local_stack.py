"""On the local stack, impressions billed over HTTP reach the analytics within seconds: the stack feeds the
template's aggregator from its embedded DynamoDB's stream (devstack/streams.py), as Lambda would in AWS."""

import json
import time
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from arbiter.auth import keys
from arbiter.devstack.server import LocalStack

ACME = {"company_name": "Acme Corp", "contact_email": "ads@acme.com"}
CAMPAIGN = {"name": "Local", "budget_cents": 5000, "cpm_bid_cents": 250}
CREATIVE = {"creative_type": "product_mention", "brand_name": "Acme Corp"}
PLACEMENT = {"creator_id": "dev_user_123", "placement_types": ["product_mention"], "revenue_share_pct": 70}
SCENE = {
    "game_id": "local_game",
    "user_id": "player_1",
    "session_id": "sess_1",
    "player_geo": {"country_code": "US"},
    "game_context": {"category": "simulation", "narrative": "A quiet evening", "mood_tags": ["tense"]},
}


def call(method: str, url: str, key: str, payload: dict | None = None) -> tuple[int, str, Any]:
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"Authorization": f"Bearer {key}", **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def test_figures_appear_on_the_local_stack_within_seconds():
    with LocalStack(port=0, dynamodb_port=0, quiet=True) as stack:
        url = stack.api_url
        key = keys.create_key("local-tenant").api_key  # advertiser and developer at once
        assert call("POST", f"{url}/api/ads/register", key, ACME)[0] == 201
        assert call("POST", f"{url}/api/ads/deposit", key, {"amount_cents": 10000})[0] == 200
        status, body, _ = call("POST", f"{url}/api/ads/campaigns", key, CAMPAIGN)
        campaign_id = json.loads(body)["id"]
        status, body, _ = call("POST", f"{url}/api/ads/campaigns/{campaign_id}/creatives", key, CREATIVE)
        creative_id = json.loads(body)["id"]
        assert call("POST", f"{url}/api/ads/campaigns/{campaign_id}/activate", key)[0] == 200
        assert call("POST", f"{url}/api/ads/placements/local_game", key, PLACEMENT)[0] == 201
        # A match (its impression token carries the player and country) and three billed impressions
        status, body, _ = call("POST", f"{url}/api/ads/match", key, SCENE)
        assert status == 200, body
        token = json.loads(body).get("impression_token")
        impression = {"campaign_id": campaign_id, "creative_id": creative_id, "game_id": "local_game"}
        for _ in range(3):
            status, body, _ = call("POST", f"{url}/api/ads/impressions", key, impression)
            assert status == 201, body
        if token:
            status, body, _ = call("POST", f"{url}/api/ads/impressions", key, {**impression, "impression_token": token})
            assert status == 201, body
        billed = 4 if token else 3
        deadline = time.monotonic() + 5
        while True:
            status, body, _ = call("GET", f"{url}/api/ads/campaigns/{campaign_id}/analytics/daily?days=1", key)
            assert status == 200, body
            if json.loads(body)["days"][0]["impressions"] == billed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        today = json.loads(body)["days"][0]
        assert today["impressions"] == billed
        stats = json.loads(call("GET", f"{url}/api/ads/campaigns/{campaign_id}/stats", key)[1])
        assert Decimal(str(today["spent_cents"])) == Decimal(str(stats["spent_cents"])) == Decimal("0.25") * billed
        status, body, headers = call("GET", f"{url}/api/ads/campaigns/{campaign_id}/analytics/geo?format=csv", key)
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        assert body.splitlines()[0] == "country_code,impressions,unique_users,spent_cents"
        game = json.loads(call("GET", f"{url}/api/ads/creator-revenue/local_game?days=1", key)[1])
        assert sum(Decimal(str(day["earned_cents"])) for day in game["daily"]) == Decimal(str(game["earned_cents"]))
