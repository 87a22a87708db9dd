"""IAM policies of template.yaml against what each function really does to DynamoDB.

moto ignores IAM, so a missing grant passes every other test and answers 500 in AWS (e.g. the Offers functions
without dynamodb:GetItem on the key table). Here one compact scenario calls every route once - with every cache
cold and the rate limiter writing its shared counter on every request, so the cold paths run - plus the pacing
job, the impressions-stream aggregator and the offers expiry sweep (a day later, so it expires an exposure as well
as reading its index, and prunes the deleted offer's model item, which reads the game's catalog);
tests/iam_recorder.py logs each function's DynamoDB calls as the IAM actions they need (a transaction as its
per-item actions), and the template must grant all of them. The reverse check keeps the
policies least-privilege: a grant the scenario never used must be listed in UNEXERCISED_GRANTS with the code path
that needs it.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from arbiter import aws, clock, ratelimit
from arbiter.ads.serving import cache as serving_cache
from arbiter.auth import keys
from arbiter.decisions import cache as decisions_cache
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.tables import create_tables
from arbiter.devstack.template import load_template, scheduled_functions
from arbiter.learning import store as learning_store
from arbiter.offers import catalog as offers_catalog
from arbiter.ratelimit import RateLimitPolicy
from scripts import generate_events
from tests.ads_fixtures import ACME, ACME_SHIELD_HOOK, PRODUCT_MENTION, ManualClock, set_ledger
from tests.iam_recorder import (
    Access,
    CallRecorder,
    RecordingApiClient,
    granted,
    missing_grants,
    template_functions,
    unused_grants,
)
from tests.reporting_fixtures import aggregator_feed
from tests.test_decisions_api import creative as decision_creative

START = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
TENANT = "tenant-a"
GAME = "iam_game"
OFFERS_GAME = "iam-offers-game"
CAMPAIGNS = "CampaignsTable"

# The Offers functions serve API-key requests: every one reads the key item (arbiter/auth/repository.py).
OFFERS_KEY_READERS = [
    "CreateGameOfferFunction",
    "ListGameOffersFunction",
    "RecommendOffersFunction",
    "ReportOfferFeedbackFunction",
]
# Grants the scenario does not reach, each as (function, Access) with the code path that needs it. Keep it exact:
# an entry the scenario does use fails the test, so the list cannot go stale.
UNEXERCISED_GRANTS: set[tuple[str, Access]] = set()


@pytest.fixture(scope="module")
def recorded() -> CallRecorder:
    """Every route called once (plus the pacing job and the aggregator), cold, each call logged per function.

    Module-scoped (the scenario runs once per worker), so it sets up its own moto tables as conftest's `dynamodb`
    fixture does."""
    recorder = CallRecorder()
    manual = ManualClock(START)

    def cold() -> None:
        # A new Lambda instance per request: no cached key, candidates, catalog or model; one second later
        # each time, so no rate-limit window fills up.
        manual.moment += timedelta(seconds=1)
        keys.forget_verified_keys()
        serving_cache.clear()
        decisions_cache.clear()
        offers_catalog.forget_catalogs()
        learning_store.forget_models()

    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        # The shared rate-limit counter is written on every request (a batch of 1), not once per 20 requests.
        patch.setattr(RateLimitPolicy, "batch", property(lambda self: 1))
        aws.reset_clients()
        create_tables(aws.dynamodb_client())
        clock.set_clock(manual)
        ratelimit.install_limiter()
        cold()
        try:
            with recorder.installed():
                key = keys.create_key(TENANT).api_key
                api = RecordingApiClient(recorder, before_each=cold)
                _ads_scenario(api, key, recorder, manual)
                _decisions_scenario(api, key)
                _offers_scenario(api, key)
                _run_expiry_sweep(recorder, manual)
                _platform_scenario(api)
        finally:
            clock.set_clock(None)
            ratelimit.install_limiter()
            cold()
            aws.reset_clients()
    return recorder


def _ok(response, status: int = 200):
    assert response.status == status, f"{response.function}: {response.status} {response.body}"
    return response.json()


def _ads_scenario(api: RecordingApiClient, key: str, recorder: CallRecorder, manual: ManualClock) -> None:
    feed = aggregator_feed()  # opened before the impression it should aggregate
    _ok(api.post("/api/ads/register", key=key, json=ACME), 201)
    _ok(api.get("/api/ads/profile", key=key))
    _ok(api.patch("/api/ads/profile", key=key, json={"company_name": "Acme Holdings"}))
    _ok(api.post("/api/ads/deposit", key=key, json={"amount_cents": 100000}))
    keyed = {"Idempotency-Key": "iam-deposit"}
    _ok(api.post("/api/ads/deposit", key=key, json={"amount_cents": 100}, headers=keyed))
    _ok(api.post("/api/ads/deposit", key=key, json={"amount_cents": 100}, headers=keyed))  # the replay's read

    flight = {"start_date": None, "end_date": None, "daily_cap_cents": None}
    body = {"name": "IAM", "budget_cents": 500000, "cpm_bid_cents": 250, "priority": 5, **flight}
    campaign = _ok(api.post("/api/ads/campaigns", key=key, json=body), 201)["id"]
    path = f"/api/ads/campaigns/{campaign}"
    _ok(api.get("/api/ads/campaigns", key=key))
    _ok(api.get(path, key=key))
    _ok(api.patch(path, key=key, json={"budget_cents": 600000}))  # budget: campaign + ledger in one transaction

    geo = _ok(api.post(f"{path}/geo-targets", key=key, json={"target_type": "country", "country_code": "US"}), 201)
    _ok(api.get(f"{path}/geo-targets", key=key))
    _ok(api.delete(f"{path}/geo-targets/{geo['id']}", key=key), 204)
    rule = _ok(api.post(f"{path}/blocklist", key=key, json={"rule_type": "keyword", "value": "violence"}), 201)
    _ok(api.get(f"{path}/blocklist", key=key))
    _ok(api.delete(f"{path}/blocklist/{rule['id']}", key=key), 204)

    creative = _ok(api.post(f"{path}/creatives", key=key, json=ACME_SHIELD_HOOK), 201)["id"]
    spare = _ok(api.post(f"{path}/creatives", key=key, json=PRODUCT_MENTION), 201)["id"]
    _ok(api.get(f"{path}/creatives", key=key))
    _ok(api.patch(f"/api/ads/creatives/{creative}", key=key, json={"tagline": "Trusted protection"}))
    _ok(api.delete(f"/api/ads/creatives/{spare}", key=key), 204)

    affinity = {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2}
    added = _ok(api.post(f"{path}/affinities", key=key, json=affinity), 201)
    _ok(api.get(f"{path}/affinities", key=key))
    _ok(api.delete(f"{path}/affinities/{added['id']}", key=key), 204)
    _ok(api.put(f"{path}/affinities/bulk", key=key, json={"affinities": [affinity]}))

    placement = {"creator_id": "dev_1", "placement_types": ["narrative_hook"], "revenue_share_pct": 70}
    _ok(api.post(f"/api/ads/placements/{GAME}", key=key, json=placement), 201)
    _ok(api.get(f"/api/ads/placements/{GAME}", key=key))
    _ok(api.patch(f"/api/ads/placements/{GAME}", key=key, json={"max_ads_per_session": 5}))

    _ok(api.post(f"{path}/activate", key=key))
    _ok(api.post(f"{path}/simulate", key=key, json={}))
    _ok(api.get(f"{path}/simulate/options", key=key))

    match = {
        "game_id": GAME,
        "user_id": "player_1",
        "session_id": "sess_1",
        "player_geo": {"country_code": "US"},
        "game_context": {"category": "simulation", "narrative": "A tense briefing", "mood_tags": ["tense"]},
    }
    token = _ok(api.post("/api/ads/match", key=key, json=match))["impression_token"]
    impression = {"impression_token": token, "game_id": GAME, "campaign_id": campaign, "creative_id": creative}
    first = _ok(api.post("/api/ads/impressions", key=key, json=impression), 201)
    replay = _ok(api.post("/api/ads/impressions", key=key, json=impression), 201)  # answered from the stored one
    assert replay["impression_id"] == first["impression_id"]
    # The last creative of an active campaign: the transaction refuses, the campaign is re-read to say why
    _ok(api.delete(f"/api/ads/creatives/{creative}", key=key), 409)
    with recorder.serving("ReportsAggregatorFunction"):
        assert feed.poll_once() == 1

    for report in ("stats", "analytics/daily", "analytics/creatives", "analytics/geo", "analytics/affinities"):
        _ok(api.get(f"{path}/{report}", key=key))
    _ok(api.get(f"{path}/analytics/pacing", key=key))
    _ok(api.get("/api/ads/revenue", key=key))
    _ok(api.get("/api/ads/creator-revenue", key=key))
    _ok(api.get(f"/api/ads/creator-revenue/{GAME}", key=key))

    _ok(api.post(f"{path}/pause", key=key))
    _ok(api.post(f"{path}/activate", key=key))
    _run_pacing(recorder, manual)  # paces the active campaign
    # Billing refuses a charge the budget cannot pay, and stops the campaign (a transaction like the job's)
    set_ledger(campaign, spent_millicents=600000 * 1000 - 100)
    untokened = {"game_id": GAME, "campaign_id": campaign, "creative_id": creative}
    assert _ok(api.post("/api/ads/impressions", key=key, json=untokened), 409)["detail"] == "Campaign budget exhausted"
    _ok(api.patch(path, key=key, json={"budget_cents": 700000}))
    _ok(api.post(f"{path}/activate", key=key))
    set_ledger(campaign, spent_millicents=700000 * 1000)
    _run_pacing(recorder, manual)  # budget spent: exhausted in a transaction with a ConditionCheck on the ledger
    _ok(api.delete(f"/api/ads/placements/{GAME}", key=key), 204)


def _run_pacing(recorder: CallRecorder, manual: ManualClock) -> None:
    (function,) = [fn for fn in scheduled_functions() if fn.logical_id == "PacingFunction"]
    event = json.loads(generate_events.event_path(function).read_text())
    manual.moment += timedelta(minutes=5)  # the next pacing slot
    with recorder.serving(function.logical_id):
        load_handler(function.code_uri, function.handler)(event, LambdaContext(function.logical_id))


def _decisions_scenario(api: RecordingApiClient, key: str) -> None:
    tenant = {"X-Tenant-Id": TENANT}

    def call(method: str, path: str, status: int = 200, **kwargs):
        return _ok(api.request(method, path, key=key, headers=tenant, **kwargs), status)

    hero = decision_creative("Hero")
    offer_body = {"name": "Platinum Card", "category": "Cards", "priority": 90, "creatives": [hero]}
    offer = call("POST", "/api/v1/offers", 201, json=offer_body)["id"]
    call("GET", "/api/v1/offers")
    call("GET", f"/api/v1/offers/{offer}")
    call("PUT", f"/api/v1/offers/{offer}", json={**offer_body, "priority": 95})
    extra = call("POST", f"/api/v1/offers/{offer}/creatives", 201, json={**hero, "name": "Side"})["id"]
    call("GET", f"/api/v1/offers/{offer}/creatives")
    call("DELETE", f"/api/v1/offers/{offer}/creatives/{extra}", 204)

    catalog = {
        "qualification-rules": {"name": "Gold only", "type": "segment_required", "segments": ["gold"]},
        "contact-policies": {
            "name": "Cooldown",
            "type": "cooldown",
            "scope": "offer",
            "durationSeconds": 60,
            "triggerOutcomes": ["dismiss"],
        },
        "guardrails": {"name": "Floor", "type": "min_score", "minScore": 0.01},
    }
    for kind, body in catalog.items():
        created = call("POST", f"/api/v1/{kind}", 201, json=body)["id"]
        call("GET", f"/api/v1/{kind}")
        call("DELETE", f"/api/v1/{kind}/{created}", 204)

    call("POST", "/api/v1/decision-flows", 201, json={"key": "main", "name": "Main", "isDefault": True})
    call("GET", "/api/v1/decision-flows")
    call("GET", "/api/v1/decision-flows/main")
    request = {"customerId": "CUST001", "channel": "web", "placement": "hero_banner", "limit": 1}
    decision = call("POST", "/api/v1/recommend", json=request)
    call("GET", "/api/v1/recommend?customerId=CUST001&channel=web&placement=hero_banner")
    outcome = {"interactionId": decision["interactionId"], "offerId": offer, "outcome": "click"}
    assert call("POST", "/api/v1/respond", json=outcome)["recorded"] is True
    assert call("POST", "/api/v1/respond", json=outcome)["recorded"] is False  # the marker, read back
    call("DELETE", "/api/v1/decision-flows/main", 204)
    call("DELETE", f"/api/v1/offers/{offer}", 204)


def _offers_scenario(api: RecordingApiClient, key: str) -> None:
    header = {"X-API-Key": key}
    offers = f"/v2/games/{OFFERS_GAME}/offers"
    bundle = {
        "offer_id": "blade_bundle",
        "name": "Blade Bundle",
        "price_usd": 9.99,
        "grants": ["legendary_sword"],
        "limits": {"max_purchases": 1},  # a purchase limit: recommend reads the player's purchases
    }
    _ok(api.post(offers, headers=header, json=bundle), 201)
    _ok(api.post(offers, headers=header, json={"offer_id": "gold_500", "name": "Gold", "price_usd": 4.99}), 201)
    _ok(api.get(offers, headers=header))
    _ok(api.get(f"{offers}/gold_500", headers=header))
    _ok(api.put(f"{offers}/gold_500", headers=header, json={"name": "Gold", "price_usd": 3.99}))
    player = {"game_id": OFFERS_GAME, "player_id": "p1"}
    _ok(api.post("/v2/recommend", headers=header, json={**player, "session_context": {"level": 10}, "max_results": 2}))
    feedback = {**player, "offer_id": "blade_bundle", "outcome": "converted", "revenue_usd": 9.99}
    response = api.post("/v1/feedback", headers=header, json=feedback)
    assert response.headers["x-feedback-status"] == "applied", response.body
    # A conversion of an offer never shown to the player: counted toward its limit by a conditional UpdateItem
    unmatched = api.post("/v1/feedback", headers=header, json={**feedback, "player_id": "p2"})
    assert unmatched.headers["x-feedback-status"] == "unmatched", unmatched.body
    _ok(api.delete(f"{offers}/gold_500", headers=header), 204)


def _run_expiry_sweep(recorder: CallRecorder, manual: ManualClock) -> None:
    """The offers expiry sweep a day after the offers scenario: the exposure left without a report (gold_500's,
    deleted since) expires, and the deleted offer's model item that expiry wrote is pruned."""
    (function,) = [fn for fn in scheduled_functions() if fn.logical_id == "OffersExpirySweepFunction"]
    event = json.loads(generate_events.event_path(function).read_text())
    manual.moment += timedelta(hours=26)  # past the window and its hour
    learning_store.forget_models()
    with recorder.serving(function.logical_id):
        report = load_handler(function.code_uri, function.handler)(event, LambdaContext(function.logical_id))
    assert (report["expired"], report["failed"], report["pruned"], report["prune_failed"]) == (1, [], 1, []), report


def _platform_scenario(api: RecordingApiClient) -> None:
    _ok(api.get("/health"))
    _ok(api.get("/openapi.json"))
    assert api.get("/docs").status == 200
    assert api.get("/no/such/route").status == 404


# ---- the checks -------------------------------------------------------------------------------------------------


def test_every_function_of_the_template_is_exercised(recorded):
    # Given the scenario run (every route once, the pacing job, the stream aggregator)
    # Then it reached every function of the template, so every policy is checked below
    assert set(template_functions()) - recorded.served == set()


def test_every_dynamodb_call_a_function_makes_is_granted_by_its_policy(recorded):
    # Given each function's DynamoDB calls in the scenario, as IAM actions per table or index
    # When they are compared with the function's policy in template.yaml
    missing = {
        function: sorted(map(str, missing_grants(needed, granted(function))))
        for function, needed in recorded.needed.items()
    }
    # Then nothing is missing (each would be AccessDenied, a 500, in AWS)
    assert {function: gaps for function, gaps in missing.items() if gaps} == {}


def test_no_function_is_granted_dynamodb_access_it_does_not_use(recorded):
    # Given each function's DynamoDB calls in the scenario
    # When its grants are compared with them
    unused = {
        (function, grant)
        for function in recorded.served
        for grant in unused_grants(recorded.needed[function], granted(function))
    }
    # Then every grant is used, or listed with the code path the scenario does not reach
    unexplained = unused - UNEXERCISED_GRANTS
    assert sorted(f"{function}: {grant}" for function, grant in unexplained) == []
    # And the list holds no stale entry
    assert sorted(f"{function}: {grant}" for function, grant in UNEXERCISED_GRANTS - unused) == []


@pytest.mark.parametrize("function", OFFERS_KEY_READERS)
def test_offers_functions_may_read_the_api_key_item(function):
    # Given an Offers function, which verifies the caller's API key on every request
    # Then its policy allows GetItem on the campaigns table, where the key item lives
    assert missing_grants({Access("dynamodb:GetItem", CAMPAIGNS)}, granted(function)) == set()


def test_only_the_match_and_impression_functions_get_the_token_secret():
    # Given the template's environment: Globals and each function's own
    functions = template_functions()
    global_variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    holders = {
        name
        for name, props in functions.items()
        if "IMPRESSION_TOKEN_SECRET_ARN" in props.get("Environment", {}).get("Variables", {})
    }
    secret_grants = {
        name: [
            statement["Resource"] for statement in statements if "secretsmanager:GetSecretValue" in statement["Action"]
        ]
        for name, props in functions.items()
        for statements in [[s for policy in props.get("Policies", []) for s in policy.get("Statement", [])]]
    }
    readers = {name for name, resources in secret_grants.items() if resources}
    # Then the HMAC key is named, and readable, only where tokens are signed (/match) and verified (/impressions)
    assert "IMPRESSION_TOKEN_SECRET_ARN" not in global_variables
    assert holders == readers == {"MatchFunction", "RecordImpressionFunction"}
    for name in readers:
        assert secret_grants[name] == [[{"Ref": "ImpressionTokenSecret"}]], name
