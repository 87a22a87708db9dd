"""POST /api/ads/match (seed 001, Ad Matching): the seed's end-to-end flow, 204, ownership, validation, the
candidate cache (one DynamoDB call per warm match, TTL) and seeded determinism."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from arbiter import aws, clock
from arbiter.ads import tokens
from arbiter.ads.serving import cache, logic
from arbiter.ads.serving.repository import session_key
from arbiter.auth import keys
from arbiter.auth.models import Scope
from arbiter.settings import get_settings
from tests.ads_fixtures import ACME_SHIELD_HOOK, add_creative, funded_campaign

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
GAME_ID = "my_game_id"
# The seed's /match request.
SEED_MATCH = {
    "game_id": GAME_ID,
    "user_id": "player_123",
    "player_geo": {"country_code": "US", "state_code": "CA"},
    "game_context": {
        "theme_id": "1",
        "category": "simulation",
        "narrative": "The president faces a difficult decision about defense spending",
        "mood_tags": ["tense", "dramatic"],
        "location": "oval_office",
        "actions": ["approve_budget", "reject_budget", "defer"],
    },
    "session_id": "sess_abc",
}
PLACEMENT = {
    "creator_id": "dev_user_123",
    "placement_types": ["narrative_hook", "product_mention"],
    "revenue_share_pct": 70,
    "max_ads_per_session": 5,
}
# Running now (the seed's summer dates would be outside the frozen clock) and targeting the seed's narrative.
CAMPAIGN_OVERRIDES = {
    "start_date": "2026-02-01T00:00:00Z",
    "end_date": "2026-12-31T23:59:59Z",
    "target_tags": ["defense spending"],
}
# Scored: mood 1.2 (matches "tense") + location 1.0 (matches "oval_office") + theme 0.8 (no match) -> 2.2 / 3.0.
AFFINITIES = [
    {"affinity_type": "lighting", "affinity_value": "warm golden hour", "weight": 1.5},
    {"affinity_type": "effects", "affinity_value": "film grain, cinematic widescreen", "weight": 1.0},
    {"affinity_type": "camera", "affinity_value": "close-up", "weight": 1.0},
    {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2},
    {"affinity_type": "location", "affinity_value": "oval office", "weight": 1.0},
    {"affinity_type": "theme", "affinity_value": "war", "weight": 0.8},
]


class FrozenClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture(autouse=True)
def serving_state():
    frozen = FrozenClock(START)
    clock.set_clock(frozen)
    cache.clear()
    logic.set_rng(random.Random(20260301))
    yield frozen
    cache.clear()
    logic.set_rng(None)
    clock.set_clock(None)


@pytest.fixture
def developer_key(dynamodb) -> str:
    return keys.create_key("studio-a", scopes=[Scope.ADS_DEVELOPER]).api_key


@pytest.fixture
def game(api, developer_key) -> str:
    response = api.post(f"/api/ads/placements/{GAME_ID}", key=developer_key, json=PLACEMENT)
    assert response.status == 201, response.body
    return GAME_ID


def serving_campaign(api, key: str, **overrides) -> dict:
    """Register + deposit + campaign + the seed's creative + affinities, activated."""
    campaign = funded_campaign(api, key, **{**CAMPAIGN_OVERRIDES, **overrides})
    creative = add_creative(api, key, campaign["id"])
    path = f"/api/ads/campaigns/{campaign['id']}/affinities/bulk"
    affinities = api.put(path, key=key, json={"affinities": AFFINITIES})
    assert affinities.status == 200, affinities.body
    activated = api.post(f"/api/ads/campaigns/{campaign['id']}/activate", key=key)
    assert activated.status == 200, activated.body
    return {**campaign, "creative_id": creative["id"]}


def test_seed_flow_returns_the_winning_creative_and_a_verifiable_token(api, tenant_key, developer_key, game):
    # Given the seed's advertiser flow: registered, funded, a campaign with a creative and affinities, active
    campaign = serving_campaign(api, tenant_key)

    # When the game asks for an ad with the seed's request
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)

    # Then the seed's fields come back, with the pipeline bias of the campaign's affinities
    assert response.status == 200, response.body
    body = response.json()
    token = body.pop("impression_token")
    assert body == {
        "campaign_id": campaign["id"],
        "creative_id": campaign["creative_id"],
        "narrative_hook": ACME_SHIELD_HOOK["narrative_hook"],
        "creative_type": "narrative_hook",
        "brand_name": "Acme Corp",
        "product_name": "Acme Shield",
        "tagline": "Protection you can trust",
        "tone": "neutral",
        "biased_pipeline": {
            "lighting": "warm golden hour",
            "effects": "film grain, cinematic widescreen",
            "camera": "close-up",
            "mood": "tense",
        },
        "affinity_score": 0.73,
        "cpm_bid_cents": 250,
    }
    # And the token verifies and binds what /impressions will bill
    claims = tokens.verify(token)
    assert claims.tenant_id == "studio-a"
    assert (claims.campaign_id, claims.creative_id) == (campaign["id"], campaign["creative_id"])
    assert claims.game_id == GAME_ID
    assert (claims.user_id, claims.session_id, claims.country_code) == ("player_123", "sess_abc", "US")
    assert claims.cpm_bid_cents == 250
    assert claims.affinity_score == pytest.approx(2.2 / 3.0)
    assert sum(claims.contributions.values()) == pytest.approx(2.2 / 3.0, abs=1e-5)
    assert len(claims.contributions) == 2  # the mood and location affinities matched; the theme did not
    assert claims.expires_at == int(START.timestamp()) + 900


def test_a_pause_made_by_another_instance_stops_serving_once_the_cache_expires(
    api, tenant_key, developer_key, game, serving_state
):
    # Given the only campaign served once (the cache is warm), then paused by another instance: written to
    # DynamoDB directly, so this instance hears nothing of it
    campaign = serving_campaign(api, tenant_key)
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 200
    aws.campaigns_table().update_item(
        Key={"PK": f"CAMPAIGN#{campaign['id']}", "SK": "CAMPAIGN"},
        UpdateExpression="SET #status = :paused REMOVE GSI2PK, GSI2SK",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":paused": "paused"},
    )
    # When the cache is still fresh, it may still be offered (billing re-checks status, so nothing is charged)
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 200

    # When the candidate cache's TTL (15 s by default) has passed
    serving_state.advance(seconds=16)
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)

    # Then nothing qualifies: 204 with no body
    assert response.status == 204
    assert not response.body


def test_a_pause_on_this_instance_stops_serving_at_once(api, tenant_key, developer_key, game):
    # Given the only campaign served once (the cache is warm)
    campaign = serving_campaign(api, tenant_key)
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 200
    # When it is paused through this same process (as on the local stack, where functions share one process)
    assert api.post(f"/api/ads/campaigns/{campaign['id']}/pause", key=tenant_key).status == 200
    # Then the very next match has nothing to serve, without waiting for the cache TTL
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 204


def test_no_active_campaign_is_204(api, developer_key, game):
    # Given a placement but no active campaign anywhere
    # When the game asks for an ad
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)
    # Then 204
    assert response.status == 204
    assert not response.body


def test_campaign_outside_the_context_is_not_served(api, tenant_key, developer_key, game):
    # Given an active campaign targeting only strategy games
    serving_campaign(api, tenant_key, target_categories=["strategy"])
    # When a simulation game asks
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)
    # Then 204
    assert response.status == 204


def test_unknown_game_is_404(api, developer_key):
    # Given no placement for the game
    # When the game asks for an ad
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)
    # Then 404
    assert response.status == 404
    assert "detail" in response.json()


def test_a_disabled_placement_serves_nothing(api, tenant_key, developer_key, game):
    # Given a serving campaign and the game's placements disabled (the seed: "Stops all ad serving")
    serving_campaign(api, tenant_key)
    assert api.delete(f"/api/ads/placements/{GAME_ID}", key=developer_key).status == 204
    # When the game asks for an ad
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)
    # Then no ad (204: proceed with normal scene generation), not an error for a game the developer registered
    assert response.status == 204
    assert response.body == ""


def test_another_tenants_game_is_403(api, other_tenant_key, game):
    # Given a placement that belongs to another tenant
    # When this tenant asks for an ad for that game
    response = api.post("/api/ads/match", key=other_tenant_key, json=SEED_MATCH)
    # Then 403
    assert response.status == 403
    assert "detail" in response.json()


def test_without_a_key_is_401(api, game):
    response = api.post("/api/ads/match", json=SEED_MATCH)
    assert response.status == 401
    assert "detail" in response.json()


def test_an_advertiser_only_key_is_403(api, dynamodb, game):
    advertiser_key = keys.create_key("brand-x", scopes=[Scope.ADS_ADVERTISER]).api_key
    response = api.post("/api/ads/match", key=advertiser_key, json=SEED_MATCH)
    assert response.status == 403


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"game_context": None}, 400),  # required object
        ({"user_id": None}, 400),
        ({"user_id": ""}, 422),
        ({"user_id": "u" * 129}, 422),
        ({"game_id": "bad game id"}, 422),
        ({"session_id": "s" * 129}, 422),
        ({"player_geo": {"country_code": "USA"}}, 422),
        ({"player_geo": {"lat": 91}}, 422),
        ({"player_geo": {"lat": True, "lng": 1.0}}, 400),  # not read as 1.0: radius targeting needs a real point
        ({"player_geo": {"lat": 37.7, "lng": "-122.4"}}, 400),
        ({"game_context": {"narrative": "x" * 4001}}, 422),
        ({"game_context": {"mood_tags": ["tense"] * 21}}, 422),
        ({"game_context": {"actions": ["a" * 101]}}, 422),
        ({"game_context": {"theme_id": "t" * 101}}, 422),
        ({"game_context": "a scene"}, 400),
    ],
)
def test_bad_input_is_refused_with_a_detail(api, developer_key, game, change, status):
    body = {**SEED_MATCH, **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = api.post("/api/ads/match", key=developer_key, json=body)
    assert response.status == status, response.body
    assert response.json()["detail"]


def test_malformed_json_is_400(api, developer_key, game):
    response = api.post("/api/ads/match", key=developer_key, body="{not json")
    assert response.status == 400


def test_a_warm_match_reads_and_counts_only_the_sessions_frequency_item(
    api, tenant_key, developer_key, game, dynamodb_calls
):
    # Given a warm instance: one match already loaded the candidates, placement and key
    serving_campaign(api, tenant_key)
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 200
    dynamodb_calls.clear()

    # When the game asks again
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)

    # Then the only DynamoDB calls are the session's frequency item: read, then the served ad counted in it
    assert response.status == 200
    assert dynamodb_calls == ["GetItem", "UpdateItem"]

    # And a match without a session_id has no session to cap, so it makes no call at all
    dynamodb_calls.clear()
    no_session = {key: value for key, value in SEED_MATCH.items() if key != "session_id"}
    assert api.post("/api/ads/match", key=developer_key, json=no_session).status == 200
    assert dynamodb_calls == []


def test_a_cold_match_reads_the_snapshot_in_bulk(api, tenant_key, developer_key, game, dynamodb_calls):
    # Given an active campaign and a cold cache
    serving_campaign(api, tenant_key)
    dynamodb_calls.clear()
    cache.clear()

    # When the game asks for an ad
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 200

    # Then: placement GetItem, one SERVING Query, ledgers and balances in batches, the session GetItem and the
    # served ad counted in it
    assert sorted(dynamodb_calls) == sorted(
        ["GetItem", "Query", "BatchGetItem", "BatchGetItem", "GetItem", "UpdateItem"]
    )


def test_the_session_rotates_hooks_as_its_ads_are_served(api, tenant_key, developer_key, game):
    # Given the seed campaign (a hook and alt hooks) served once in a session, no impression recorded
    serving_campaign(api, tenant_key)
    first = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).json()

    # When the same session asks again
    second = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).json()

    # Then the next hook of the rotation is shown
    assert first["narrative_hook"] == ACME_SHIELD_HOOK["narrative_hook"]
    assert second["narrative_hook"] == ACME_SHIELD_HOOK["alt_hooks"][0]


def test_the_seed_integration_without_tokens_is_capped_per_session(api, tenant_key, developer_key, game):
    # Given a placement allowing 5 ads a session, and a game that bills with the seed's token-less body
    campaign = serving_campaign(api, tenant_key)
    impression = {"campaign_id": campaign["id"], "creative_id": campaign["creative_id"], "game_id": GAME_ID}

    def served(body) -> int:
        response = api.post("/api/ads/match", key=developer_key, json=body)
        if response.status == 200:
            assert api.post("/api/ads/impressions", key=developer_key, json=impression).status == 201
        return response.status

    # When one session asks six times, then a new session asks
    statuses = [served(SEED_MATCH) for _ in range(6)]
    # Then the sixth is refused (the seed: session_id is "for per-session frequency capping") and a new session
    # is served
    assert statuses == [200] * 5 + [204]
    assert served({**SEED_MATCH, "session_id": "sess_next"}) == 200
    # And a match without a session_id is never capped by another session's ads
    no_session = {key: value for key, value in SEED_MATCH.items() if key != "session_id"}
    assert [served(no_session) for _ in range(6)] == [200] * 6


def test_the_session_cap_stops_serving(api, tenant_key, developer_key, game, dynamodb):
    # Given the session already saw max_ads_per_session (5) ads
    serving_campaign(api, tenant_key)
    session = {name: {"S": value} for name, value in session_key(GAME_ID, "sess_abc", "player_123").items()}
    dynamodb.put_item(TableName=get_settings().interactions_table, Item={**session, "ads_shown": {"N": "5"}})
    # When it asks for another
    response = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)
    # Then 204
    assert response.status == 204


def test_sessions_whose_ids_read_alike_joined_by_a_hash_are_capped_apart(api, tenant_key, developer_key, game):
    # Given alice's session "s#1" took the placement's 5 ads
    serving_campaign(api, tenant_key)
    alice = {**SEED_MATCH, "session_id": "s#1", "user_id": "alice"}
    assert [api.post("/api/ads/match", key=developer_key, json=alice).status for _ in range(6)] == [200] * 5 + [204]
    # When another player, "1#alice" in session "s", asks (the same text as alice's once the ids are joined by '#')
    bob = {**SEED_MATCH, "session_id": "s", "user_id": "1#alice"}
    statuses = [api.post("/api/ads/match", key=developer_key, json=bob).status for _ in range(6)]
    # Then his session has a cap of its own: 5 ads, then 204
    assert statuses == [200] * 5 + [204]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("g", "s#1", "alice"), ("g", "s", "1#alice")),
        (("g", "s", "1#alice"), ("g", "s#1#alice", "x")),
        (("g", "a:b", "c"), ("g", "a", "b:c")),
        (("g", "1:a", "2:bc"), ("g", "1:a2:b", "c")),
        (("g", "a", "1:b"), ("g", "a1:", "b")),
    ],
)
def test_the_session_key_keeps_every_game_session_and_player_apart(first, second):
    # Given two different (game, session, player) triples whose ids contain the characters a key is built with
    # When each is keyed, Then the keys differ
    assert session_key(*first) != session_key(*second)


def test_two_matches_racing_for_a_sessions_last_slot_serve_one_ad(
    api, tenant_key, developer_key, game, dynamodb, monkeypatch
):
    # Given a session at 4 of its 5 ads, and a second match that read the same 4 before this one counted its ad
    serving_campaign(api, tenant_key)
    session = {name: {"S": value} for name, value in session_key(GAME_ID, "sess_abc", "player_123").items()}
    dynamodb.put_item(TableName=get_settings().interactions_table, Item={**session, "ads_shown": {"N": "4"}})
    assert api.post("/api/ads/match", key=developer_key, json=SEED_MATCH).status == 200
    monkeypatch.setattr(logic.repository, "session_counters", lambda *_: (4, {}))  # the racing match's stale read
    # When the racing match finishes
    late = api.post("/api/ads/match", key=developer_key, json=SEED_MATCH)
    # Then it serves nothing: the session's last slot was taken, and the count stays at the cap
    assert late.status == 204
    item = dynamodb.get_item(TableName=get_settings().interactions_table, Key=session)["Item"]
    assert item["ads_shown"] == {"N": "5"}


def test_a_fixed_seed_reproduces_the_tie_break(api, tenant_key, other_tenant_key, developer_key, game):
    # Given two identical active campaigns from two advertisers: equal bids and scores, decided by the salt
    serving_campaign(api, tenant_key)
    serving_campaign(api, other_tenant_key)

    def winners(seed: int) -> list[str]:
        logic.set_rng(random.Random(seed))
        # One session per match: the tie-break is under test, not the session cap
        return [
            api.post("/api/ads/match", key=developer_key, json={**SEED_MATCH, "session_id": f"s{n}"}).json()[
                "campaign_id"
            ]
            for n in range(8)
        ]

    # When the same sequence of matches runs twice under the same seed
    # Then the same campaigns win in the same order, and both campaigns win sometimes
    assert winners(7) == winners(7)
    assert len(set(winners(7) + winners(8))) == 2
