"""Developer placements (seed 001, Placements (Developer)): enable, read, update, disable, re-enable."""

from datetime import UTC, datetime, timedelta

import pytest

from arbiter import clock
from arbiter.ads.placements import logic, repository
from arbiter.auth import keys
from arbiter.auth.models import Scope
from arbiter.errors import ForbiddenError, NotFoundError

GAME = "/api/ads/placements/my_game_id"
SEED_REQUEST = {
    "creator_id": "dev_user_123",
    "placement_types": ["narrative_hook", "product_mention"],
    "revenue_share_pct": 70,
    "max_ads_per_session": 5,
    "blocked_categories": ["gambling"],
}
SEED_RESPONSE = {
    "game_id": "my_game_id",
    "creator_id": "dev_user_123",
    "placement_types": ["narrative_hook", "product_mention"],
    "revenue_share_pct": 70,
    "max_ads_per_session": 5,
    "blocked_advertisers": [],
    "blocked_categories": ["gambling"],
    "is_active": True,
    "created_at": "2026-03-01T12:00:00Z",
}
SEED_PATCH = {"max_ads_per_session": 8, "blocked_categories": ["gambling", "alcohol"]}
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class FrozenClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def frozen_clock():
    frozen = FrozenClock(START)
    clock.set_clock(frozen)
    yield frozen
    clock.set_clock(None)


@pytest.fixture
def enabled_game(api, tenant_key, frozen_clock) -> dict:
    response = api.post(GAME, key=tenant_key, json=SEED_REQUEST)
    assert response.status == 201, response.body
    return response.json()


def without_updated_at(body: dict) -> dict:
    return {name: value for name, value in body.items() if name != "updated_at"}


def test_enable_returns_201_with_exactly_the_seed_placement(api, tenant_key, frozen_clock):
    # Given a developer key / When it enables the seed's game
    response = api.post(GAME, key=tenant_key, json=SEED_REQUEST)
    # Then the seed's placement object comes back, plus when it was last changed
    assert response.status == 201, response.body
    body = response.json()
    assert without_updated_at(body) == SEED_RESPONSE
    assert body["updated_at"] == "2026-03-01T12:00:00Z"
    assert isinstance(body["revenue_share_pct"], int)


def test_get_returns_the_placement(api, tenant_key, enabled_game):
    response = api.get(GAME, key=tenant_key)
    assert response.status == 200
    assert response.json() == enabled_game


def test_patch_changes_only_the_given_fields(api, tenant_key, enabled_game, frozen_clock):
    # Given an enabled game / When the seed's PATCH is sent later
    frozen_clock.advance(minutes=5)
    response = api.patch(GAME, key=tenant_key, json=SEED_PATCH)
    # Then those two fields change and everything else stays
    assert response.status == 200, response.body
    expected = {**enabled_game, **SEED_PATCH, "updated_at": "2026-03-01T12:05:00Z"}
    assert response.json() == expected
    assert api.get(GAME, key=tenant_key).json() == expected


def test_empty_patch_returns_the_placement_unchanged(api, tenant_key, enabled_game):
    response = api.patch(GAME, key=tenant_key, json={})
    assert response.status == 200
    assert response.json() == enabled_game


def test_delete_disables_and_keeps_the_configuration(api, tenant_key, enabled_game):
    # When the game is disabled
    response = api.delete(GAME, key=tenant_key)
    # Then 204 with no body, and GET still shows the configuration with is_active false
    assert response.status == 204
    assert response.body == ""
    after = api.get(GAME, key=tenant_key)
    assert after.status == 200
    assert without_updated_at(after.json()) == {**SEED_RESPONSE, "is_active": False}
    # And disabling again is harmless
    assert api.delete(GAME, key=tenant_key).status == 204


def test_post_re_enables_a_disabled_game_with_the_new_config(api, tenant_key, enabled_game, frozen_clock):
    # Given a disabled game
    assert api.delete(GAME, key=tenant_key).status == 204
    frozen_clock.advance(days=1)
    new_config = {
        "creator_id": "dev_user_456",
        "placement_types": ["location_brand"],
        "revenue_share_pct": 62.5,
        "blocked_advertisers": ["adv_abc123"],
    }
    # When POST is called again
    response = api.post(GAME, key=tenant_key, json=new_config)
    # Then it is enabled with the new body (defaults for what was left out) and its original created_at
    assert response.status == 201, response.body
    assert response.json() == {
        "game_id": "my_game_id",
        "creator_id": "dev_user_456",
        "placement_types": ["location_brand"],
        "revenue_share_pct": 62.5,
        "max_ads_per_session": 10,
        "blocked_advertisers": ["adv_abc123"],
        "blocked_categories": [],
        "is_active": True,
        "created_at": "2026-03-01T12:00:00Z",
        "updated_at": "2026-03-02T12:00:00Z",
    }
    assert api.get(GAME, key=tenant_key).json() == response.json()


def test_post_on_an_enabled_game_conflicts_and_changes_nothing(api, tenant_key, enabled_game):
    response = api.post(GAME, key=tenant_key, json={**SEED_REQUEST, "revenue_share_pct": 10})
    assert response.status == 409
    assert "already enabled" in response.json()["detail"]
    assert api.get(GAME, key=tenant_key).json() == enabled_game


@pytest.mark.parametrize("disable_first", [False, True])
def test_another_tenant_gets_403_on_every_route_and_changes_nothing(
    api, tenant_key, other_tenant_key, enabled_game, disable_first
):
    # Given tenant A's game (enabled, or disabled and so open to a re-enable by A only)
    if disable_first:
        assert api.delete(GAME, key=tenant_key).status == 204
    before = api.get(GAME, key=tenant_key).json()
    # When tenant B calls every route on it / Then each is 403 with a detail
    responses = [
        api.post(GAME, key=other_tenant_key, json={**SEED_REQUEST, "creator_id": "intruder"}),
        api.get(GAME, key=other_tenant_key),
        api.patch(GAME, key=other_tenant_key, json={"revenue_share_pct": 100}),
        api.delete(GAME, key=other_tenant_key),
    ]
    for response in responses:
        assert response.status == 403, response.body
        assert response.json()["detail"]
    # And tenant A's placement is untouched
    assert api.get(GAME, key=tenant_key).json() == before


def test_unknown_game_is_404_on_get_patch_and_delete(api, tenant_key):
    unknown = "/api/ads/placements/never_registered"
    for response in (
        api.get(unknown, key=tenant_key),
        api.patch(unknown, key=tenant_key, json=SEED_PATCH),
        api.delete(unknown, key=tenant_key),
    ):
        assert response.status == 404, response.body
        assert "never_registered" in response.json()["detail"]
    # And the PATCH did not create anything
    assert api.get(unknown, key=tenant_key).status == 404


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"revenue_share_pct": 101}, 422),
        ({"revenue_share_pct": -1}, 422),
        ({"revenue_share_pct": 33.333}, 422),
        ({"revenue_share_pct": "70"}, 400),
        ({"revenue_share_pct": True}, 400),
        ({"max_ads_per_session": 0}, 422),
        ({"max_ads_per_session": 51}, 422),
        ({"placement_types": ["billboard"]}, 422),
        ({"placement_types": []}, 422),
        ({"placement_types": ["narrative_hook", "narrative_hook"]}, 422),
        ({"blocked_advertisers": ["camp_123"]}, 422),
        ({"blocked_advertisers": [f"adv_{i}" for i in range(201)]}, 422),
        ({"blocked_categories": ["x" * 65]}, 422),
        ({"blocked_categories": [""]}, 422),
        ({"creator_id": ""}, 422),
        ({"creator_id": "x" * 129}, 422),
    ],
)
def test_invalid_enable_body_is_refused_and_nothing_is_written(api, tenant_key, change, status):
    response = api.post(GAME, key=tenant_key, json={**SEED_REQUEST, **change})
    assert response.status == status, response.body
    assert next(iter(change)) in response.json()["detail"]
    assert api.get(GAME, key=tenant_key).status == 404


@pytest.mark.parametrize("missing", ["creator_id", "placement_types", "revenue_share_pct"])
def test_missing_required_field_is_400(api, tenant_key, missing):
    body = {name: value for name, value in SEED_REQUEST.items() if name != missing}
    response = api.post(GAME, key=tenant_key, json=body)
    assert response.status == 400
    assert missing in response.json()["detail"]
    assert api.get(GAME, key=tenant_key).status == 404


@pytest.mark.parametrize("game_id", ["bad$id", "x" * 129, "spa%20ce"])
def test_invalid_game_id_is_refused(api, tenant_key, game_id):
    response = api.post(f"/api/ads/placements/{game_id}", key=tenant_key, json=SEED_REQUEST)
    assert 400 <= response.status < 500, response.body
    assert response.json()["detail"]


def test_longest_valid_game_id_is_accepted(api, tenant_key):
    game_id = "g.a-m_e" + "x" * 121
    response = api.post(f"/api/ads/placements/{game_id}", key=tenant_key, json=SEED_REQUEST)
    assert response.status == 201, response.body
    assert response.json()["game_id"] == game_id


@pytest.mark.parametrize(
    "change",
    [
        {"revenue_share_pct": 101},
        {"revenue_share_pct": 1.005},
        {"max_ads_per_session": 51},
        {"placement_types": ["product_mention", "product_mention"]},
        {"blocked_advertisers": ["not_an_advertiser"]},
    ],
)
def test_invalid_patch_is_422_and_changes_nothing(api, tenant_key, enabled_game, change):
    response = api.patch(GAME, key=tenant_key, json=change)
    assert response.status == 422, response.body
    assert api.get(GAME, key=tenant_key).json() == enabled_game


def test_patch_with_null_is_400_and_changes_nothing(api, tenant_key, enabled_game):
    response = api.patch(GAME, key=tenant_key, json={"placement_types": None})
    assert response.status == 400
    assert api.get(GAME, key=tenant_key).json() == enabled_game


def test_missing_key_is_401_on_every_route(api, dynamodb):
    for response in (
        api.post(GAME, json=SEED_REQUEST),
        api.get(GAME),
        api.patch(GAME, json=SEED_PATCH),
        api.delete(GAME),
    ):
        assert response.status == 401
        assert response.json()["detail"]


def test_key_without_developer_scope_is_403(api, dynamodb):
    advertiser_only = keys.create_key("tenant-a", scopes=[Scope.ADS_ADVERTISER]).api_key
    response = api.post(GAME, key=advertiser_only, json=SEED_REQUEST)
    assert response.status == 403
    assert "ads:developer" in response.json()["detail"]


@pytest.mark.parametrize(("pct", "bps"), [(62.5, 6250), (33.33, 3333), (0, 0), (100, 10000), (0.01, 1)])
def test_revenue_share_is_stored_in_basis_points_and_round_trips_exactly(api, tenant_key, pct, bps):
    # When a share with up to 2 decimals is sent
    created = api.post(GAME, key=tenant_key, json={**SEED_REQUEST, "revenue_share_pct": pct})
    # Then it is stored as integer basis points and shown back as the same JSON number
    assert created.status == 201, created.body
    assert created.json()["revenue_share_pct"] == pct
    assert f'"revenue_share_pct": {pct}' in created.body or f'"revenue_share_pct":{pct}' in created.body
    assert repository.get("my_game_id").revenue_share_bps == bps
    assert api.get(GAME, key=tenant_key).json()["revenue_share_pct"] == pct


def test_patch_revenue_share_keeps_exact_decimals(api, tenant_key, enabled_game):
    response = api.patch(GAME, key=tenant_key, json={"revenue_share_pct": 62.5})
    assert response.json()["revenue_share_pct"] == 62.5
    assert repository.get("my_game_id").revenue_share_bps == 6250


def test_blocklist_repeats_are_kept_once_in_order(api, tenant_key):
    body = {**SEED_REQUEST, "blocked_categories": ["gambling", "alcohol", "gambling"]}
    response = api.post(GAME, key=tenant_key, json=body)
    assert response.json()["blocked_categories"] == ["gambling", "alcohol"]


def test_get_active_placement_for_serving(api, tenant_key, enabled_game):
    # Given tenant A's enabled game: it is served to A, refused to B, unknown games are 404
    assert logic.get_active_placement("tenant-a", "my_game_id").max_ads_per_session == 5
    with pytest.raises(ForbiddenError):
        logic.get_active_placement("tenant-b", "my_game_id")
    with pytest.raises(NotFoundError):
        logic.get_active_placement("tenant-a", "never_registered")
    # When it is disabled / Then serving treats it as not found
    api.delete(GAME, key=tenant_key)
    with pytest.raises(NotFoundError):
        logic.get_active_placement("tenant-a", "my_game_id")


def test_list_placements_returns_only_the_tenants_games(api, tenant_key, other_tenant_key):
    api.post("/api/ads/placements/game_b", key=tenant_key, json=SEED_REQUEST)
    api.post("/api/ads/placements/game_a", key=tenant_key, json=SEED_REQUEST)
    api.post("/api/ads/placements/their_game", key=other_tenant_key, json=SEED_REQUEST)
    api.delete("/api/ads/placements/game_b", key=tenant_key)
    listed = logic.list_placements("tenant-a")
    assert [(item.game_id, item.is_active) for item in listed] == [("game_a", True), ("game_b", False)]
    assert [item.game_id for item in logic.list_placements("tenant-b")] == ["their_game"]
