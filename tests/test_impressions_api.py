"""POST /api/ads/impressions (seed 001, Record Impression): exactly-once billing, priced by the token or the bid."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from arbiter import aws, clock
from arbiter.ads import tokens
from arbiter.ads.advertisers.repository import advertiser_key
from arbiter.ads.billing import logic
from arbiter.ads.billing import repository as billing_repository
from arbiter.ads.tokens import ImpressionClaims
from arbiter.auth import keys
from arbiter.settings import get_settings
from tests.ads_fixtures import active_campaign, campaign_item, ledger_item, set_ledger

IMPRESSIONS = "/api/ads/impressions"
GAME_ID = "my_game_id"
PLACEMENT = {"creator_id": "dev_user_123", "placement_types": ["narrative_hook"], "revenue_share_pct": 70}
DEPOSIT_MILLICENTS = 100000 * 1000  # active_campaign deposits 100,000 cents
# Inside the seed campaign's schedule: an impression without a token is only billed while the campaign could
# serve.
pytestmark = pytest.mark.usefixtures("seed_campaign_running")


@pytest.fixture
def developer_key(dynamodb) -> str:
    return keys.create_key("studio-dev").api_key


@pytest.fixture
def served(api, tenant_key, developer_key) -> dict[str, Any]:
    """tenant-a runs the seed's active campaign (250-cent CPM); studio-dev places ads in my_game_id at 70%."""
    campaign = active_campaign(api, tenant_key)
    creatives = api.get(f"/api/ads/campaigns/{campaign['id']}/creatives", key=tenant_key).json()
    enabled = api.post(f"/api/ads/placements/{GAME_ID}", key=developer_key, json=PLACEMENT)
    assert enabled.status == 201, enabled.body
    return {
        "campaign_id": campaign["id"],
        "creative_id": creatives[0]["id"],
        "game_id": GAME_ID,
    }


def advertiser_balance() -> int:
    return int(aws.campaigns_table().get_item(Key=advertiser_key("tenant-a"))["Item"]["balance_millicents"])


def set_advertiser_balance(millicents: int) -> None:
    aws.campaigns_table().update_item(
        Key=advertiser_key("tenant-a"),
        UpdateExpression="SET balance_millicents = :b",
        ExpressionAttributeValues={":b": millicents},
    )


def game_earnings() -> dict[str, Any]:
    return aws.campaigns_table().get_item(Key={"PK": f"GAME#{GAME_ID}", "SK": "EARNINGS"}).get("Item", {})


def stored_impressions() -> list[dict[str, Any]]:
    return aws.dynamodb_resource().Table(get_settings().impressions_table).scan()["Items"]


def token_for(body: dict[str, Any], *, tenant_id: str = "studio-dev", cpm_bid_cents: int = 300, **claims: Any) -> str:
    return tokens.issue(
        ImpressionClaims(
            tenant_id=tenant_id,
            campaign_id=body["campaign_id"],
            creative_id=body["creative_id"],
            game_id=body["game_id"],
            user_id="player_42",
            session_id="sess_1",
            country_code="US",
            cpm_bid_cents=cpm_bid_cents,
            affinity_score=0.8,
            contributions={"aff_1": 0.5},
            expires_at=tokens.expiry_from_now(),
        ).model_copy(update=claims)
    )


def assert_nothing_charged(campaign_id: str) -> None:
    assert int(ledger_item(campaign_id)["spent_millicents"]) == 0
    assert advertiser_balance() == DEPOSIT_MILLICENTS
    assert stored_impressions() == []
    assert game_earnings() == {}


def test_seed_flow_charges_a_quarter_cent_and_moves_every_ledger_exactly(api, developer_key, tenant_key, served):
    # Given an active 250-cent CPM campaign and a 70% placement
    # When the developer records the seed's impression
    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    # Then it is billed at 0.25 cents
    assert response.status == 201, response.body
    body = response.json()
    assert body["impression_id"].startswith("imp_")
    assert {k: body[k] for k in served} == served
    assert body["charged_cents"] == 0.25
    assert body["recorded_at"].endswith("Z")
    # And every counter moved by exactly the charge
    ledger = ledger_item(served["campaign_id"])
    assert ledger["spent_millicents"] == 250
    assert ledger["day_spent_millicents"] == 250
    assert advertiser_balance() == DEPOSIT_MILLICENTS - 250
    earnings = game_earnings()
    assert earnings["earned_millicents"] == 175  # 70% of 250
    assert earnings["earned_millicents"] + earnings["platform_take_millicents"] == 250
    assert earnings["creator_id"] == "dev_user_123"
    # And the creatives API counts it
    creatives = api.get(f"/api/ads/campaigns/{served['campaign_id']}/creatives", key=tenant_key).json()
    assert creatives[0]["impressions"] == 1
    # And the advertiser sees the spend
    campaign = api.get(f"/api/ads/campaigns/{served['campaign_id']}", key=tenant_key).json()
    assert Decimal(str(campaign["spent_cents"])) == Decimal("0.25")
    [stored] = stored_impressions()
    assert stored["impression_id"] == body["impression_id"]
    assert stored["idempotency_source"] == "none"


def test_requests_without_idempotency_are_separate_impressions(api, developer_key, served):
    first = api.post(IMPRESSIONS, key=developer_key, json=served).json()
    second = api.post(IMPRESSIONS, key=developer_key, json=served).json()
    assert first["impression_id"] != second["impression_id"]
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 500


def test_idempotency_key_replay_returns_the_first_response_and_charges_once(api, developer_key, tenant_key, served):
    headers = {"Idempotency-Key": "retry-7f3a"}
    first = api.post(IMPRESSIONS, key=developer_key, json=served, headers=headers)
    # The bid changes between the two calls: the replay still answers with the first charge
    patched = api.patch(f"/api/ads/campaigns/{served['campaign_id']}", key=tenant_key, json={"cpm_bid_cents": 900})
    assert patched.status == 200, patched.body
    replay = api.post(IMPRESSIONS, key=developer_key, json=served, headers=headers)

    assert first.status == 201 and replay.status == 201, replay.body
    assert replay.json() == first.json()
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 250
    assert advertiser_balance() == DEPOSIT_MILLICENTS - 250
    assert game_earnings()["impressions"] == 1
    assert len(stored_impressions()) == 1


def test_idempotency_key_reused_for_another_impression_is_a_conflict(api, developer_key, tenant_key, served):
    headers = {"Idempotency-Key": "retry-7f3a"}
    assert api.post(IMPRESSIONS, key=developer_key, json=served, headers=headers).status == 201
    second_creative = api.post(
        f"/api/ads/campaigns/{served['campaign_id']}/creatives",
        key=tenant_key,
        json={"creative_type": "product_mention", "brand_name": "Acme Corp"},
    ).json()
    reused = api.post(
        IMPRESSIONS, key=developer_key, json={**served, "creative_id": second_creative["id"]}, headers=headers
    )
    assert reused.status == 409
    assert "Idempotency-Key" in reused.json()["detail"]
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 250


def test_the_same_idempotency_key_from_two_tenants_is_two_impressions(api, developer_key, served):
    # Keys are scoped to the tenant: another developer's identical key is not a replay of ours
    other_ids = {logic.impression_id_for("studio-dev", None, "k1"), logic.impression_id_for("studio-2", None, "k1")}
    assert len(other_ids) == 2
    assert logic.impression_id_for("studio-dev", None, "k1") == logic.impression_id_for("studio-dev", None, "k1")


def test_token_prices_the_impression_and_its_replay_charges_once(api, developer_key, tenant_key, served):
    # Given a token issued by /match at a 300-cent CPM, and a bid lowered after the match
    token = token_for(served, cpm_bid_cents=300)
    api.patch(f"/api/ads/campaigns/{served['campaign_id']}", key=tenant_key, json={"cpm_bid_cents": 150})

    first = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": token})
    replay = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": token})

    # Then the token's price is charged, once
    assert first.status == 201, first.body
    assert first.json()["charged_cents"] == 0.3
    assert replay.status == 201 and replay.json() == first.json()
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 300
    assert advertiser_balance() == DEPOSIT_MILLICENTS - 300
    [stored] = stored_impressions()
    assert stored["user_id"] == "player_42" and stored["session_id"] == "sess_1" and stored["country_code"] == "US"
    assert stored["idempotency_source"].startswith("token:")


def test_tampered_or_expired_token_is_refused(api, developer_key, served):
    token = token_for(served)
    payload, signature = token.split(".")
    tampered = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": payload + "x." + signature})
    assert tampered.status == 400
    assert "impression_token" in tampered.json()["detail"]
    expired = token_for(served, expires_at=int(clock.now().timestamp()) - 1)
    response = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": expired})
    assert response.status == 400
    assert response.json()["detail"] == "impression_token has expired"
    # Non-ASCII text where the base64url payload or signature should be (was a 500 in the signature check)
    for mangled in (payload + ".é" + signature, "é" + payload + "." + signature):
        refused = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": mangled})
        assert refused.status == 400, refused.body
        assert refused.json()["detail"] == "impression_token is malformed"
    assert_nothing_charged(served["campaign_id"])


def test_token_for_another_game_or_account_is_refused(api, developer_key, served):
    other_game = token_for({**served, "game_id": "another_game"})
    response = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": other_game})
    assert response.status == 400
    assert response.json()["detail"] == "impression_token was issued for a different game_id"

    other_tenant = token_for(served, tenant_id="someone-else")
    response = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": other_tenant})
    assert response.status == 403
    assert response.json()["detail"] == "impression_token was issued to another account"
    assert_nothing_charged(served["campaign_id"])


def test_budget_too_small_is_refused_and_the_campaign_stops_serving(api, developer_key, served):
    # Given 100 millicents of budget left, less than one 250-millicent impression
    budget = int(ledger_item(served["campaign_id"])["budget_millicents"])
    set_ledger(served["campaign_id"], spent_millicents=budget - 100)

    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    assert response.status == 409
    assert response.json()["detail"] == "Campaign budget exhausted"
    assert int(ledger_item(served["campaign_id"])["spent_millicents"]) == budget - 100
    assert advertiser_balance() == DEPOSIT_MILLICENTS
    assert stored_impressions() == []
    campaign = campaign_item(served["campaign_id"])
    assert campaign["status"] == "exhausted"
    assert "GSI2PK" not in campaign and "GSI2SK" not in campaign
    # And a later impression is refused as inactive, still without a charge
    again = api.post(IMPRESSIONS, key=developer_key, json=served)
    assert again.status == 409
    assert again.json()["detail"] == "Campaign is not active"
    assert advertiser_balance() == DEPOSIT_MILLICENTS


def test_a_token_priced_above_the_budget_left_keeps_a_campaign_that_can_pay_its_bid(api, developer_key, served):
    # Given a token matched at a 300-cent CPM, and 200 millicents of budget left, enough for one impression at
    # the campaign's 250-cent bid but not at the token's price
    token = token_for(served, cpm_bid_cents=300)
    budget = int(ledger_item(served["campaign_id"])["budget_millicents"])
    set_ledger(served["campaign_id"], spent_millicents=budget - 260)
    # When the developer records the impression
    response = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": token})
    # Then this impression is refused, without a charge, and the campaign keeps serving at its bid
    assert response.status == 409
    assert response.json()["detail"] == (
        "Campaign budget left cannot pay this impression at the price it was matched at"
    )
    assert int(ledger_item(served["campaign_id"])["spent_millicents"]) == budget - 260
    assert campaign_item(served["campaign_id"])["status"] == "active"
    assert campaign_item(served["campaign_id"])["GSI2PK"] == "SERVING"
    # And the next impression at the bid is billed
    billed = api.post(IMPRESSIONS, key=developer_key, json=served)
    assert billed.status == 201, billed.body
    assert int(ledger_item(served["campaign_id"])["spent_millicents"]) == budget - 10


def test_a_token_priced_above_the_balance_keeps_a_campaign_the_balance_can_pay(api, developer_key, served):
    # Given a token matched at a 300-cent CPM and an advertiser balance of 260 millicents
    token = token_for(served, cpm_bid_cents=300)
    set_advertiser_balance(260)
    # When the developer records the impression, it is refused for the balance
    response = api.post(IMPRESSIONS, key=developer_key, json={**served, "impression_token": token})
    assert response.status == 409
    assert response.json()["detail"] == "Advertiser balance too low"
    # But the balance still pays one impression at the 250-cent bid, so the campaign keeps serving
    assert campaign_item(served["campaign_id"])["status"] == "active"
    assert api.post(IMPRESSIONS, key=developer_key, json=served).status == 201
    assert advertiser_balance() == 10


def test_daily_cap_reached_is_refused_but_the_campaign_keeps_serving(api, developer_key, served):
    today = clock.now().date().isoformat()
    cap = int(campaign_item(served["campaign_id"])["daily_cap_millicents"])
    set_ledger(served["campaign_id"], spend_day=today, day_spent_millicents=cap - 100)

    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    assert response.status == 409
    assert response.json()["detail"] == "Campaign daily cap reached"
    assert campaign_item(served["campaign_id"])["status"] == "active"
    assert_nothing_charged(served["campaign_id"])


def test_an_earlier_days_spend_does_not_count_against_today(api, developer_key, served):
    cap = int(campaign_item(served["campaign_id"])["daily_cap_millicents"])
    set_ledger(served["campaign_id"], spend_day="2020-01-01", day_spent_millicents=cap)

    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    assert response.status == 201, response.body
    ledger = ledger_item(served["campaign_id"])
    assert ledger["spend_day"] == clock.now().date().isoformat()
    assert ledger["day_spent_millicents"] == 250


def test_balance_too_low_is_refused(api, developer_key, served):
    set_advertiser_balance(100)
    response = api.post(IMPRESSIONS, key=developer_key, json=served)
    assert response.status == 409
    assert response.json()["detail"] == "Advertiser balance too low"
    assert advertiser_balance() == 100
    assert int(ledger_item(served["campaign_id"])["spent_millicents"]) == 0
    assert stored_impressions() == []
    assert campaign_item(served["campaign_id"])["status"] == "exhausted"


def test_paused_campaign_is_not_billed(api, developer_key, tenant_key, served):
    assert api.post(f"/api/ads/campaigns/{served['campaign_id']}/pause", key=tenant_key).status == 200
    response = api.post(IMPRESSIONS, key=developer_key, json=served)
    assert response.status == 409
    assert response.json()["detail"] == "Campaign is not active"
    assert_nothing_charged(served["campaign_id"])


def test_a_budget_raised_between_read_and_charge_is_retried_with_fresh_values(
    api, developer_key, tenant_key, served, monkeypatch
):
    # Given the budget is nearly spent when billing reads it, and raised before the charge is written
    budget = int(ledger_item(served["campaign_id"])["budget_millicents"])
    set_ledger(served["campaign_id"], spent_millicents=budget - 100)
    real_get = billing_repository.get_campaign
    reads = []

    def read_then_raise_budget(campaign_id):
        loaded = real_get(campaign_id)
        reads.append(loaded)
        if len(reads) == 1:
            raised = api.patch(f"/api/ads/campaigns/{campaign_id}", key=tenant_key, json={"budget_cents": 600000})
            assert raised.status == 200, raised.body
        return loaded

    monkeypatch.setattr(billing_repository, "get_campaign", read_then_raise_budget)

    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    # Then the stale budget is refused, re-read and the retry succeeds
    assert response.status == 201, response.body
    assert len(reads) >= 2
    assert int(ledger_item(served["campaign_id"])["spent_millicents"]) == budget - 100 + 250


@pytest.mark.parametrize(("new_cap_cents", "billed"), [(1, False), (2, True)])
def test_a_daily_cap_lowered_between_read_and_charge_is_charged_against_the_new_cap(
    api, developer_key, tenant_key, served, monkeypatch, new_cap_cents, billed
):
    # Given 900 millicents spent today, no daily cap when billing reads the campaign, and a 250-millicent impression
    set_ledger(served["campaign_id"], day_spent_millicents=900)
    real_get = billing_repository.get_campaign
    reads = []

    def read_then_lower_cap(campaign_id):
        loaded = real_get(campaign_id)
        reads.append(loaded)
        if len(reads) == 1:  # the advertiser sets a daily cap before the charge is written
            path = f"/api/ads/campaigns/{campaign_id}"
            lowered = api.patch(path, key=tenant_key, json={"daily_cap_cents": new_cap_cents})
            assert lowered.status == 200, lowered.body
        return loaded

    monkeypatch.setattr(billing_repository, "get_campaign", read_then_lower_cap)

    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    # Then the charge is judged against the new cap: refused when it would pass it, billed when it fits
    day_spent = int(ledger_item(served["campaign_id"])["day_spent_millicents"])
    if billed:
        assert response.status == 201, response.body
        assert day_spent == 1150
    else:
        assert response.status == 409, response.body
        assert response.json()["detail"] == logic.DAILY_CAP_REACHED
        assert day_spent == 900


def test_the_daily_counter_is_on_the_utc_day_whatever_the_clocks_offset(
    api, developer_key, served, seed_campaign_running
):
    # Given 900 millicents spent today (UTC), and a clock that reports the same instant at UTC+10, already the
    # next calendar day there (01:00 on the 16th is 15:00 UTC on the 15th)
    set_ledger(served["campaign_id"], day_spent_millicents=900, spend_day="2026-07-15")
    seed_campaign_running.moment = datetime(2026, 7, 16, 1, 0, tzinfo=timezone(timedelta(hours=10)))
    # When an impression is billed
    assert api.post(IMPRESSIONS, key=developer_key, json=served).status == 201
    # Then it counts toward the same UTC day (the counter was not rolled to the 16th and reset)
    ledger = ledger_item(served["campaign_id"])
    assert (ledger["spend_day"], int(ledger["day_spent_millicents"])) == ("2026-07-15", 1150)


def test_refused_impressions_are_counted_by_reason(api, developer_key, served, capsys):
    # Given a campaign whose budget cannot pay one more impression, and a request naming no campaign
    budget = int(ledger_item(served["campaign_id"])["budget_millicents"])
    set_ledger(served["campaign_id"], spent_millicents=budget - 100)
    assert api.post(IMPRESSIONS, key=developer_key, json=served).status == 409
    assert api.post(IMPRESSIONS, key=developer_key, json={**served, "campaign_id": "camp_none"}).status == 404
    # Then each refusal is an ImpressionsRefused metric (CloudWatch EMF) with a bounded reason
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ImpressionsRefused"' in line]
    assert [blob["reason"] for blob in blobs] == ["budget_exhausted", "notfound"]
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Arbiter"
        assert directive["Dimensions"] == [["reason", "service"]]


def test_game_and_campaign_must_exist_and_be_the_callers(api, developer_key, other_tenant_key, tenant_key, served):
    # Another developer's game: 403
    foreign = api.post(IMPRESSIONS, key=other_tenant_key, json=served)
    assert foreign.status == 403
    # An unknown game: 404
    assert api.post(IMPRESSIONS, key=developer_key, json={**served, "game_id": "no_such_game"}).status == 404
    # An unknown campaign / a creative of no campaign: 404
    unknown = api.post(IMPRESSIONS, key=developer_key, json={**served, "campaign_id": "camp_doesnotexist"})
    assert unknown.status == 404
    assert unknown.json()["detail"] == "Campaign not found"
    assert api.post(IMPRESSIONS, key=developer_key, json={**served, "campaign_id": "not-an-id"}).status == 404
    wrong_creative = api.post(IMPRESSIONS, key=developer_key, json={**served, "creative_id": "crt_doesnotexist"})
    assert wrong_creative.status == 404
    assert api.delete(f"/api/ads/placements/{GAME_ID}", key=developer_key).status == 204
    assert api.post(IMPRESSIONS, key=developer_key, json=served).status == 404
    assert_nothing_charged(served["campaign_id"])


def test_bad_input_is_refused_without_writing(api, developer_key, served):
    missing = api.post(IMPRESSIONS, key=developer_key, json={"campaign_id": served["campaign_id"]})
    assert missing.status == 400
    assert "creative_id" in missing.json()["detail"]
    assert api.post(IMPRESSIONS, key=developer_key, body="{not json").status == 400
    assert api.post(IMPRESSIONS, key=developer_key, json={**served, "campaign_id": 12}).status == 400
    too_long = api.post(IMPRESSIONS, key=developer_key, json={**served, "campaign_id": "c" * 65})
    assert too_long.status == 422
    long_key = api.post(IMPRESSIONS, key=developer_key, json=served, headers={"Idempotency-Key": "k" * 129})
    assert long_key.status == 422
    assert long_key.json()["detail"] == "header.idempotency-key: String should have at most 128 characters"
    assert_nothing_charged(served["campaign_id"])


def test_missing_or_wrong_key_is_refused(api, advertiser_only_key, served):
    assert api.post(IMPRESSIONS, json=served).status == 401
    assert api.post(IMPRESSIONS, key="not-a-real-key", json=served).status == 401
    assert api.post(IMPRESSIONS, key=advertiser_only_key, json=served).status == 403


@pytest.fixture
def advertiser_only_key(dynamodb) -> str:
    from arbiter.auth.models import Scope

    return keys.create_key("studio-dev", [Scope.ADS_ADVERTISER]).api_key


def test_stored_impression_is_keyed_for_exactly_once(api, developer_key, served):
    body = api.post(IMPRESSIONS, key=developer_key, json=served, headers={"Idempotency-Key": "abc"}).json()
    table = aws.dynamodb_resource().Table(get_settings().impressions_table)
    items = table.query(KeyConditionExpression=Key("PK").eq(f"IMP#{body['impression_id']}"))["Items"]
    assert len(items) == 1
    assert body["impression_id"] == logic.impression_id_for("studio-dev", None, "abc")


def test_an_impression_outside_the_campaigns_schedule_is_refused(api, developer_key, served, seed_campaign_running):
    # Given the seed campaign (2026-06-01 to 2026-08-31)
    # When a developer reports impressions without a token after its end and before its start
    seed_campaign_running.moment = datetime(2026, 9, 1, 0, 0, 1, tzinfo=UTC)
    ended = api.post(IMPRESSIONS, key=developer_key, json=served)
    seed_campaign_running.moment = datetime(2026, 5, 31, 23, 59, tzinfo=UTC)
    early = api.post(IMPRESSIONS, key=developer_key, json=served)

    # Then both are refused as /match would, and nothing is charged
    assert ended.status == 409, ended.body
    assert ended.json()["detail"] == (
        "Campaign cannot be served in this game: campaign ended at 2026-08-31T23:59:59+00:00"
    )
    assert early.status == 409, early.body
    assert "campaign starts at 2026-06-01" in early.json()["detail"]
    assert_nothing_charged(served["campaign_id"])


@pytest.mark.parametrize(
    "placement_change, reason",
    [
        ({"blocked_advertisers": ["{advertiser_id}"]}, "is blocked by this game"),
        ({"blocked_categories": ["Defense"]}, "ad category 'defense' is blocked by this game"),
        ({"placement_types": ["product_mention"]}, "no creative of a type this placement accepts"),
    ],
)
def test_an_impression_the_placement_refuses_is_not_billed(
    api, developer_key, tenant_key, served, placement_change, reason
):
    # Given a defense campaign, and a placement that blocks its advertiser, its category or its creative's type
    campaign = api.get(f"/api/ads/campaigns/{served['campaign_id']}", key=tenant_key).json()
    assert (
        api.patch(f"/api/ads/campaigns/{served['campaign_id']}", key=tenant_key, json={"ad_category": "defense"}).status
        == 200
    )
    change = {
        field: [value.format(advertiser_id=campaign["advertiser_id"]) for value in values]
        for field, values in placement_change.items()
    }
    updated = api.patch(f"/api/ads/placements/{GAME_ID}", key=developer_key, json=change)
    assert updated.status == 200, updated.body

    # When the developer reports an impression of it without a token
    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    # Then it is refused with the rule /match applies, and nothing is charged
    assert response.status == 409, response.body
    assert response.json()["detail"].startswith("Campaign cannot be served in this game: ")
    assert reason in response.json()["detail"]
    assert_nothing_charged(served["campaign_id"])


def test_an_impression_in_a_game_the_campaign_blocklists_is_refused(api, developer_key, tenant_key, served):
    # Given the advertiser blocklists the developer's game, and a scene keyword (which needs a scene to judge)
    blocklist = f"/api/ads/campaigns/{served['campaign_id']}/blocklist"
    keyword = api.post(blocklist, key=tenant_key, json={"rule_type": "keyword", "value": "war"})
    assert keyword.status == 201, keyword.body
    assert api.post(IMPRESSIONS, key=developer_key, json=served).status == 201  # a keyword alone does not refuse
    rule = api.post(blocklist, key=tenant_key, json={"rule_type": "game_id", "value": GAME_ID})
    assert rule.status == 201, rule.body

    # When the developer reports an impression without a token
    response = api.post(IMPRESSIONS, key=developer_key, json=served)

    # Then it is refused, and only the impression before the game rule was charged
    assert response.status == 409, response.body
    assert f"game_id '{GAME_ID}'" in response.json()["detail"]
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 250


def test_a_token_vouches_for_the_match_that_issued_it(api, developer_key, served, seed_campaign_running):
    # Given a token issued by a match in the campaign's last seconds
    seed_campaign_running.moment = datetime(2026, 8, 31, 23, 59, 58, tzinfo=UTC)
    body = {**served, "impression_token": token_for(served, cpm_bid_cents=250)}

    # When the player sees the ad just after the campaign's end and the developer reports it with the token
    seed_campaign_running.moment = datetime(2026, 9, 1, 0, 0, 5, tzinfo=UTC)
    response = api.post(IMPRESSIONS, key=developer_key, json=body)

    # Then it is billed: the match that chose it applied every rule (and the player's geo and caps)
    assert response.status == 201, response.body
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 250


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "idempotency-key"])
@pytest.mark.parametrize("change", ["token expired", "placement disabled", "campaign paused"])
def test_a_replay_of_a_billed_impression_gets_its_first_response_whatever_changed_since(
    api, developer_key, tenant_key, served, with_token, change
):
    # Given an impression billed once (with a match token, or with an Idempotency-Key)
    body = {**served, "impression_token": token_for(served, cpm_bid_cents=250)} if with_token else served
    headers = {} if with_token else {"Idempotency-Key": "retry-me"}
    first = api.post(IMPRESSIONS, key=developer_key, json=body, headers=headers)
    assert first.status == 201, first.body
    # When something changes that would refuse a new impression, and the game server's retry arrives
    if change == "token expired":  # (the Idempotency-Key case: a retry that late)
        later = datetime.fromtimestamp(tokens.expiry_from_now() + 60, UTC)
        clock.set_clock(lambda: later)
    elif change == "placement disabled":
        assert api.delete(f"/api/ads/placements/{GAME_ID}", key=developer_key).status == 204
    else:
        assert api.post(f"/api/ads/campaigns/{served['campaign_id']}/pause", key=tenant_key).status == 200
    try:
        replay = api.post(IMPRESSIONS, key=developer_key, json=body, headers=headers)
    finally:
        clock.set_clock(None)
    # Then the retry is told what the first request was (its charge stands), not that the impression failed
    assert replay.status == 201, replay.body
    assert replay.json() == first.json()
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 250


def test_a_billed_token_sent_with_another_creative_is_refused_for_the_mismatch(api, developer_key, served):
    # Given an impression billed with its token
    body = {**served, "impression_token": token_for(served, cpm_bid_cents=250)}
    assert api.post(IMPRESSIONS, key=developer_key, json=body).status == 201
    # When the token comes back naming another creative
    altered = api.post(IMPRESSIONS, key=developer_key, json={**body, "creative_id": "crt_other"})
    # Then the answer names the mismatch (as for a token never billed), not a replay or an Idempotency-Key
    assert altered.status == 400, altered.body
    assert altered.json()["detail"] == "impression_token was issued for a different creative_id"


def test_a_replay_after_the_campaign_ended_returns_the_first_response(
    api, developer_key, served, seed_campaign_running
):
    # Given an impression billed with an Idempotency-Key while the campaign ran
    headers = {"Idempotency-Key": "late-retry-1"}
    first = api.post(IMPRESSIONS, key=developer_key, json=served, headers=headers)
    assert first.status == 201, first.body

    # When the developer's retry arrives after the campaign's end
    seed_campaign_running.moment = datetime(2026, 9, 2, tzinfo=UTC)
    replay = api.post(IMPRESSIONS, key=developer_key, json=served, headers=headers)

    # Then it gets the first response, charged once
    assert replay.status == 201, replay.body
    assert replay.json() == first.json()
    assert ledger_item(served["campaign_id"])["spent_millicents"] == 250
