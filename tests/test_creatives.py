"""Creatives (seed 001, Creatives): per-campaign create/list, update/delete by id through the pointer item."""

import json

import pytest
from boto3.dynamodb.conditions import Attr

from arbiter import aws, dynamo
from arbiter.ads.campaigns import creatives, repository
from tests.ads_fixtures import (
    ACME_SHIELD_HOOK,
    PRODUCT_MENTION,
    active_campaign,
    add_creative,
    campaign_item,
    funded_campaign,
    register_advertiser,
    set_ledger,
)


def creatives_path(campaign_id: str) -> str:
    return f"/api/ads/campaigns/{campaign_id}/creatives"


def pointer(creative_id: str) -> dict | None:
    return aws.campaigns_table().get_item(Key=repository.creative_pointer_key(creative_id)).get("Item")


def test_create_returns_201_with_the_seed_creative_and_writes_its_pointer(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    # When the seed's narrative hook creative is created
    response = api.post(creatives_path(campaign["id"]), key=tenant_key, json=ACME_SHIELD_HOOK)
    # Then the seed's creative object comes back with no impressions yet
    assert response.status == 201, response.body
    body = response.json()
    assert body["id"].startswith("crt_")
    assert body["created_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        **ACME_SHIELD_HOOK,
        "campaign_id": campaign["id"],
        "impressions": 0,
    }
    # And the creative sits in the campaign item, with a pointer item naming its campaign and tenant
    assert body["id"] in campaign_item(campaign["id"])["creatives"]
    assert pointer(body["id"]) == {
        "PK": f"CREATIVE#{body['id']}",
        "SK": "CREATIVE",
        "creative_id": body["id"],
        "campaign_id": campaign["id"],
        "tenant_id": "tenant-a",
    }


def test_create_applies_defaults_and_list_returns_creation_order(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    first = add_creative(api, tenant_key, campaign["id"])
    second = add_creative(api, tenant_key, campaign["id"], PRODUCT_MENTION)
    assert second["tone"] == "neutral"
    assert second["max_uses_per_game"] == 3
    assert second["alt_hooks"] == []
    assert second["narrative_hook"] is None and second["product_name"] is None and second["tagline"] is None
    listed = api.get(creatives_path(campaign["id"]), key=tenant_key)
    assert listed.status == 200
    assert listed.json() == [first, second]


def test_impressions_come_from_the_ledger(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    creative = add_creative(api, tenant_key, campaign["id"])
    set_ledger(campaign["id"], creative_impressions={creative["id"]: 9500})
    assert api.get(creatives_path(campaign["id"]), key=tenant_key).json()[0]["impressions"] == 9500


def test_invalid_creatives_are_refused(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = creatives_path(campaign["id"])
    # A narrative_hook creative without its hook is a missing required field (400)
    no_hook = {k: v for k, v in ACME_SHIELD_HOOK.items() if k != "narrative_hook"}
    response = api.post(path, key=tenant_key, json=no_hook)
    assert response.status == 400
    assert "narrative_hook is required" in response.json()["detail"]
    assert api.post(path, key=tenant_key, json={"creative_type": "product_mention"}).status == 400
    out_of_range = [
        {**PRODUCT_MENTION, "creative_type": "banner"},
        {**PRODUCT_MENTION, "tone": "angry"},
        {**PRODUCT_MENTION, "max_uses_per_game": 0},
        {**PRODUCT_MENTION, "max_uses_per_game": 21},
        {**PRODUCT_MENTION, "alt_hooks": ["hook"] * 21},
        {**PRODUCT_MENTION, "brand_name": "x" * 101},
        {**PRODUCT_MENTION, "brand_name": "   "},
    ]
    for body in out_of_range:
        response = api.post(path, key=tenant_key, json=body)
        assert response.status == 422, (body, response.body)
    assert api.get(path, key=tenant_key).json() == []


def test_patch_updates_the_given_fields(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    creative = add_creative(api, tenant_key, campaign["id"])
    # The seed's example
    change = {
        "narrative_hook": "An Acme Shield briefcase sits on the Resolute desk, its logo catching the light.",
        "tone": "dramatic",
    }
    response = api.patch(f"/api/ads/creatives/{creative['id']}", key=tenant_key, json=change)
    assert response.status == 200, response.body
    assert response.json() == {**creative, **change}
    assert api.get(creatives_path(campaign["id"]), key=tenant_key).json() == [{**creative, **change}]
    # Optional fields can be cleared; the rest are bounded as on create
    cleared = api.patch(f"/api/ads/creatives/{creative['id']}", key=tenant_key, json={"tagline": None})
    assert cleared.status == 200
    assert cleared.json()["tagline"] is None
    path = f"/api/ads/creatives/{creative['id']}"
    assert api.patch(path, key=tenant_key, json={"max_uses_per_game": 25}).status == 422
    assert api.patch(path, key=tenant_key, json={"tone": "sad"}).status == 422
    assert api.patch(path, key=tenant_key, json={"brand_name": None}).status == 400
    assert api.patch(path, key=tenant_key, json={"narrative_hook": None}).status == 400  # required for its type
    assert api.get(creatives_path(campaign["id"]), key=tenant_key).json() == [{**cleared.json()}]


def test_unknown_creative_404_and_foreign_creative_403(api, tenant_key, other_tenant_key):
    campaign = funded_campaign(api, tenant_key)
    creative = add_creative(api, tenant_key, campaign["id"])
    register_advertiser(api, other_tenant_key)
    for unknown in ("crt_doesnotexist", "not-a-creative"):
        assert api.patch(f"/api/ads/creatives/{unknown}", key=tenant_key, json={"tone": "dramatic"}).status == 404
        assert api.delete(f"/api/ads/creatives/{unknown}", key=tenant_key).status == 404
    path = f"/api/ads/creatives/{creative['id']}"
    assert api.patch(path, key=other_tenant_key, json={"tone": "dramatic"}).status == 403
    assert api.delete(path, key=other_tenant_key).status == 403
    assert api.get(creatives_path(campaign["id"]), key=other_tenant_key).status == 403
    assert api.post(creatives_path(campaign["id"]), key=other_tenant_key, json=PRODUCT_MENTION).status == 403
    assert api.get(creatives_path(campaign["id"]), key=tenant_key).json() == [creative]
    assert api.post(creatives_path("camp_unknown"), key=tenant_key, json=PRODUCT_MENTION).status == 404
    assert api.get(creatives_path("camp_unknown"), key=tenant_key).status == 404
    assert api.patch(path, json={"tone": "dramatic"}).status == 401
    assert api.delete(path).status == 401


def test_delete_removes_the_creative_and_its_pointer(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    creative = add_creative(api, tenant_key, campaign["id"])
    response = api.delete(f"/api/ads/creatives/{creative['id']}", key=tenant_key)
    assert response.status == 204
    assert api.get(creatives_path(campaign["id"]), key=tenant_key).json() == []
    assert pointer(creative["id"]) is None
    assert api.delete(f"/api/ads/creatives/{creative['id']}", key=tenant_key).status == 404


def test_the_last_creative_of_an_active_campaign_cannot_be_deleted(api, tenant_key):
    # Given an active campaign with two creatives
    campaign = active_campaign(api, tenant_key)
    first = api.get(creatives_path(campaign["id"]), key=tenant_key).json()[0]
    second = add_creative(api, tenant_key, campaign["id"], PRODUCT_MENTION)
    # Then one can go, but not the last one
    assert api.delete(f"/api/ads/creatives/{first['id']}", key=tenant_key).status == 204
    refused = api.delete(f"/api/ads/creatives/{second['id']}", key=tenant_key)
    assert refused.status == 409
    assert "last creative" in refused.json()["detail"]
    assert pointer(second["id"]) is not None
    # Once paused, it can
    assert api.post(f"/api/ads/campaigns/{campaign['id']}/pause", key=tenant_key).status == 200
    assert api.delete(f"/api/ads/creatives/{second['id']}", key=tenant_key).status == 204


def test_the_write_condition_itself_keeps_the_last_creative(api, tenant_key):
    # The rule holds in the write, not only in a prior read: a direct delete is refused by DynamoDB
    campaign = active_campaign(api, tenant_key)
    creative = api.get(creatives_path(campaign["id"]), key=tenant_key).json()[0]
    with pytest.raises(repository.WriteRefused) as refused:
        repository.delete_creative(campaign["id"], "tenant-a", creative["id"])
    assert refused.value.failed == {"campaign"}
    # And a write under another tenant is refused even with the right ids
    with pytest.raises(repository.WriteRefused):
        repository.remove_child(campaign["id"], "tenant-b", repository.ChildMap.CREATIVES, creative["id"])
    assert creative["id"] in campaign_item(campaign["id"])["creatives"]


# --- What a campaign may hold (campaigns.content) ------------------------------------------------------------

LONG_HOOK = "😀" * 1000  # 4 bytes a character: the longest hook is 4 KB stored
LONG_CREATIVE = {**ACME_SHIELD_HOOK, "narrative_hook": LONG_HOOK, "alt_hooks": [LONG_HOOK] * 12}


def post_raw_utf8(api, key, path, body):
    """Sent as UTF-8 text (a JSON encoder's \\u escapes would make the emoji 12 characters each)."""
    return api.post(path, key=key, body=json.dumps(body, ensure_ascii=False))


def test_creatives_stop_at_the_campaigns_content_budget_with_422_and_nothing_written(api, tenant_key):
    # Given a campaign filled with creatives of the longest texts, up to its 230 KB content budget
    campaign = funded_campaign(api, tenant_key)
    path = creatives_path(campaign["id"])
    added = []
    while (response := post_raw_utf8(api, tenant_key, path, LONG_CREATIVE)).status == 201:
        added.append(response.json()["id"])
    # Then the one that would pass the budget is 422 with what to do, long before DynamoDB's 400 KB item limit
    assert response.status == 422, response.body
    assert "at most 230 KB" in response.json()["detail"]
    assert len(added) == 4  # 13 hooks of 4 KB each: 52 KB a creative
    item = campaign_item(campaign["id"])
    assert list(item["creatives"]) == added
    assert dynamo.stored_size(item) < 400_000
    # And nothing was written for it: no pointer item without its creative
    pointers = aws.campaigns_table().scan(FilterExpression=Attr("SK").eq("CREATIVE"))["Items"]
    assert sorted(p["creative_id"] for p in pointers) == sorted(added)
    # And the campaign's other writes still work
    assert api.patch(f"/api/ads/campaigns/{campaign['id']}", key=tenant_key, json={"name": "Renamed"}).status == 200


def test_a_creative_update_that_would_pass_the_budget_is_422_and_changes_nothing(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = creatives_path(campaign["id"])
    ids = [post_raw_utf8(api, tenant_key, path, LONG_CREATIVE).json()["id"] for _ in range(4)]
    small = add_creative(api, tenant_key, campaign["id"], PRODUCT_MENTION)
    # When the small creative is given the longest texts
    grown = {"narrative_hook": LONG_HOOK, "alt_hooks": [LONG_HOOK] * 12}
    response = api.patch(
        f"/api/ads/creatives/{small['id']}", key=tenant_key, body=json.dumps(grown, ensure_ascii=False)
    )
    # Then it is refused and stays as it was, while an update that shrinks a creative is allowed
    assert response.status == 422, response.body
    assert campaign_item(campaign["id"])["creatives"][small["id"]].get("alt_hooks", []) == []
    shrunk = api.patch(f"/api/ads/creatives/{ids[0]}", key=tenant_key, json={"alt_hooks": []})
    assert shrunk.status == 200, shrunk.body


def test_at_most_50_creatives_even_when_two_adds_race_past_the_read(api, tenant_key, monkeypatch):
    campaign = funded_campaign(api, tenant_key)
    for _ in range(50):
        add_creative(api, tenant_key, campaign["id"], PRODUCT_MENTION)
    # The 51st is refused by the check on the campaign just read
    refused = api.post(creatives_path(campaign["id"]), key=tenant_key, json=PRODUCT_MENTION)
    assert refused.status == 422, refused.body
    assert refused.json()["detail"] == "A campaign can have at most 50 creatives"
    # And by the write's own condition when a concurrent add read the campaign before the 50th was written
    monkeypatch.setattr(creatives, "ensure_room", lambda *args, **kwargs: None)
    raced = api.post(creatives_path(campaign["id"]), key=tenant_key, json=PRODUCT_MENTION)
    assert raced.status == 422, raced.body
    assert raced.json()["detail"] == "A campaign can have at most 50 creatives"
    assert len(campaign_item(campaign["id"])["creatives"]) == 50
