"""Geo targets and blocklist rules (seed 001, Geo Targeting and Blocklist)."""

from decimal import Decimal

import pytest

from arbiter.ads.campaigns import content
from arbiter.ads.campaigns import logic as campaigns_logic
from arbiter.ads.campaigns.countries import ISO_3166_ALPHA2
from arbiter.ads.campaigns.repository import ChildMap
from tests.ads_fixtures import campaign_item, funded_campaign, register_advertiser, ticking_clock

US = {"target_type": "country", "country_code": "US", "include": True}
SAN_FRANCISCO = {"target_type": "radius", "lat": 37.7749, "lng": -122.4194, "radius_km": 50, "include": True}


def geo_path(campaign_id: str) -> str:
    return f"/api/ads/campaigns/{campaign_id}/geo-targets"


def blocklist_path(campaign_id: str) -> str:
    return f"/api/ads/campaigns/{campaign_id}/blocklist"


def test_add_country_and_radius_targets_as_in_the_seed(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    # When the seed's country target is added
    country = api.post(geo_path(campaign["id"]), key=tenant_key, json=US)
    # Then the seed's geo target object comes back, without fields a country target does not use
    assert country.status == 201, country.body
    body = country.json()
    assert body["id"].startswith("geo_")
    assert body["created_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "campaign_id": campaign["id"],
        "target_type": "country",
        "country_code": "US",
        "include": True,
    }
    radius = api.post(geo_path(campaign["id"]), key=tenant_key, json=SAN_FRANCISCO)
    assert radius.status == 201, radius.body
    assert {k: radius.json()[k] for k in ("target_type", "lat", "lng", "radius_km", "include")} == {
        "target_type": "radius",
        "lat": 37.7749,
        "lng": -122.4194,
        "radius_km": 50,
        "include": True,
    }
    assert "country_code" not in radius.json()
    # Stored as an entry of the campaign item's geo_targets map
    assert set(campaign_item(campaign["id"])["geo_targets"]) == {body["id"], radius.json()["id"]}


def test_coordinates_are_kept_to_a_centimetre(api, tenant_key):
    # Given a radius target whose coordinates carry more digits than any location needs
    campaign = funded_campaign(api, tenant_key)
    body = {**SAN_FRANCISCO, "lat": 37.774912345678, "lng": -1e-320}
    # When it is added
    response = api.post(geo_path(campaign["id"]), key=tenant_key, json=body)
    # Then it is stored and shown to 1e-7 degrees (a denormal longitude is 0, not a failed write)
    assert response.status == 201, response.body
    assert (response.json()["lat"], response.json()["lng"]) == (37.7749123, 0.0)
    stored = campaign_item(campaign["id"])["geo_targets"][response.json()["id"]]
    assert (stored["lat"], stored["lng"]) == (Decimal("37.7749123"), 0)


def test_state_and_city_targets_and_exclusions(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    state = api.post(
        geo_path(campaign["id"]),
        key=tenant_key,
        json={"target_type": "state", "country_code": "US", "state_code": "CA", "include": False},
    )
    assert state.status == 201, state.body
    assert state.json()["state_code"] == "CA"
    assert state.json()["include"] is False
    city = api.post(
        geo_path(campaign["id"]),
        key=tenant_key,
        json={"target_type": "city", "country_code": "GB", "city_name": "London"},
    )
    assert city.status == 201, city.body
    assert city.json()["city_name"] == "London"
    assert city.json()["include"] is True  # the default


def test_geo_target_fields_are_validated_per_type(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = geo_path(campaign["id"])
    missing = [
        ({"target_type": "country"}, "country_code"),
        ({"target_type": "state", "country_code": "US"}, "state_code"),
        ({"target_type": "city", "country_code": "US"}, "city_name"),
        ({"target_type": "radius", "lat": 1, "lng": 1}, "radius_km"),
    ]
    for body, field in missing:
        response = api.post(path, key=tenant_key, json=body)
        assert response.status == 400, (body, response.body)
        assert field in response.json()["detail"]
    invalid = [
        {"target_type": "continent", "country_code": "US"},
        {"target_type": "country", "country_code": "XX"},  # two letters, but not an assigned code
        {"target_type": "country", "country_code": "us"},
        {"target_type": "country", "country_code": "USA"},
        {"target_type": "country", "country_code": "US", "lat": 10.0},  # not used by a country target
        {**SAN_FRANCISCO, "lat": 90.5},
        {**SAN_FRANCISCO, "lng": -180.5},
        {**SAN_FRANCISCO, "radius_km": 0},
        {**SAN_FRANCISCO, "radius_km": 1e-320},  # positive, but below one metre (and DynamoDB's number range)
        {**SAN_FRANCISCO, "radius_km": 30000},
    ]
    for body in invalid:
        response = api.post(path, key=tenant_key, json=body)
        assert response.status == 422, (body, response.body)
    # A value of the wrong JSON type is malformed (400), not read as what it might mean: "false" is not false
    wrong_type = [
        {**US, "include": "false"},
        {**US, "include": 0},
        {**SAN_FRANCISCO, "lat": "37.7749"},
        {**SAN_FRANCISCO, "radius_km": True},
    ]
    for body in wrong_type:
        response = api.post(path, key=tenant_key, json=body)
        assert response.status == 400, (body, response.body)
    assert campaign_item(campaign["id"])["geo_targets"] == {}


def test_country_codes_are_the_assigned_iso_alpha2_codes():
    assert len(ISO_3166_ALPHA2) == 249
    assert {"US", "GB", "DE", "FR", "JP", "BR", "ZA", "SS", "AX"} <= ISO_3166_ALPHA2
    assert not {"UK", "XK", "EU", "XX"} & ISO_3166_ALPHA2


def test_list_in_creation_order_and_delete(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = geo_path(campaign["id"])
    with ticking_clock():
        created = [api.post(path, key=tenant_key, json={**US, "country_code": code}).json() for code in ("US", "CA")]
    # Targets created in the same second still list in creation order
    created.append(api.post(path, key=tenant_key, json=SAN_FRANCISCO).json())
    created.append(api.post(path, key=tenant_key, json={**US, "country_code": "MX"}).json())
    listed = api.get(path, key=tenant_key)
    assert listed.status == 200
    assert listed.json() == created
    # Delete one: 204 with no body, then it is gone; deleting it again is 404
    deleted = api.delete(f"{path}/{created[0]['id']}", key=tenant_key)
    assert deleted.status == 204
    assert deleted.body in ("", None)
    assert [t["id"] for t in api.get(path, key=tenant_key).json()] == [t["id"] for t in created[1:]]
    assert api.delete(f"{path}/{created[0]['id']}", key=tenant_key).status == 404
    assert api.delete(f"{path}/geo_unknown", key=tenant_key).status == 404


def test_blocklist_rules_add_list_delete(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = blocklist_path(campaign["id"])
    # The seed's two rules
    keyword = api.post(path, key=tenant_key, json={"rule_type": "keyword", "value": "violence"})
    assert keyword.status == 201, keyword.body
    body = keyword.json()
    assert body["id"].startswith("blk_")
    assert body["created_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        "campaign_id": campaign["id"],
        "rule_type": "keyword",
        "value": "violence",
    }
    game = api.post(path, key=tenant_key, json={"rule_type": "game_id", "value": "game_xyz"}).json()
    assert api.get(path, key=tenant_key).json() == [body, game]
    assert api.delete(f"{path}/{body['id']}", key=tenant_key).status == 204
    assert api.get(path, key=tenant_key).json() == [game]
    assert api.delete(f"{path}/{body['id']}", key=tenant_key).status == 404
    # Bad input
    assert api.post(path, key=tenant_key, json={"rule_type": "url", "value": "x"}).status == 422
    assert api.post(path, key=tenant_key, json={"rule_type": "theme", "value": ""}).status == 422
    assert api.post(path, key=tenant_key, json={"rule_type": "theme", "value": "x" * 201}).status == 422
    assert api.post(path, key=tenant_key, json={"rule_type": "theme"}).status == 400
    # A value of symbols alone could never match a scene (rules compare words): refused, except an exact game id
    symbols = api.post(path, key=tenant_key, json={"rule_type": "keyword", "value": "💣"})
    assert symbols.status == 422
    assert "letter or digit" in symbols.json()["detail"]
    assert api.get(path, key=tenant_key).json() == [game]


def test_unknown_campaign_404_foreign_campaign_403_and_missing_auth_401(api, tenant_key, other_tenant_key):
    # Given tenant A's campaign with one geo target and one blocklist rule
    campaign = funded_campaign(api, tenant_key)
    target = api.post(geo_path(campaign["id"]), key=tenant_key, json=US).json()
    rule = api.post(blocklist_path(campaign["id"]), key=tenant_key, json={"rule_type": "theme", "value": "war"}).json()
    register_advertiser(api, other_tenant_key)
    # Then tenant B can neither read nor change them
    geo, blocklist = geo_path(campaign["id"]), blocklist_path(campaign["id"])
    assert api.get(geo, key=other_tenant_key).status == 403
    assert api.post(geo, key=other_tenant_key, json=US).status == 403
    assert api.delete(f"{geo}/{target['id']}", key=other_tenant_key).status == 403
    assert api.get(blocklist, key=other_tenant_key).status == 403
    assert api.post(blocklist, key=other_tenant_key, json={"rule_type": "theme", "value": "x"}).status == 403
    assert api.delete(f"{blocklist}/{rule['id']}", key=other_tenant_key).status == 403
    assert api.get(geo, key=tenant_key).json() == [target]
    assert api.get(blocklist, key=tenant_key).json() == [rule]
    # An unknown campaign is 404 on every route; no key is 401
    for path in (geo_path("camp_unknown"), blocklist_path("camp_unknown")):
        assert api.get(path, key=tenant_key).status == 404
        assert api.delete(f"{path}/x_1", key=tenant_key).status == 404
    assert api.post(geo_path("camp_unknown"), key=tenant_key, json=US).status == 404
    assert api.post(geo, json=US).status == 401
    assert api.get(blocklist).status == 401


@pytest.mark.parametrize(
    ("child_map", "body_of", "label"),
    [
        (
            ChildMap.GEO_TARGETS,
            lambda n: {"target_type": "city", "country_code": "US", "city_name": f"Town {n}"},
            "geo targets",
        ),
        (ChildMap.BLOCKLIST, lambda n: {"rule_type": "game_id", "value": f"game_{n}"}, "blocklist rules"),
    ],
)
def test_geo_targets_and_blocklist_rules_stop_at_their_cap_even_when_adds_race(
    api, tenant_key, monkeypatch, child_map, body_of, label
):
    # The caps are 200 each; lowered to 3 here so the test makes a handful of requests, not hundreds
    assert content.MAX_CHILDREN[child_map] == 200
    monkeypatch.setitem(content.MAX_CHILDREN, child_map, 3)
    campaign = funded_campaign(api, tenant_key)
    path = geo_path(campaign["id"]) if child_map is ChildMap.GEO_TARGETS else blocklist_path(campaign["id"])
    for n in range(3):
        assert api.post(path, key=tenant_key, json=body_of(n)).status == 201
    # The next one is refused with the limit, by the check on the campaign just read
    refused = api.post(path, key=tenant_key, json=body_of(3))
    assert refused.status == 422, refused.body
    assert refused.json()["detail"] == f"A campaign can have at most 3 {label}"
    # And by the write's own condition when a concurrent add read the campaign before the third was written
    monkeypatch.setattr(campaigns_logic, "ensure_room", lambda *args, **kwargs: None)
    raced = api.post(path, key=tenant_key, json=body_of(4))
    assert raced.status == 422, raced.body
    assert raced.json()["detail"] == f"A campaign can have at most 3 {label}"
    assert len(campaign_item(campaign["id"])[child_map.value]) == 3
