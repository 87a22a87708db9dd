"""Affinities (seed 001, Affinities): list, add, delete, bulk replace; at most 50 per campaign."""

import pytest

from arbiter.ads.campaigns import repository
from tests.ads_fixtures import campaign_item, funded_campaign, register_advertiser

GOLDEN_HOUR = {"affinity_type": "lighting", "affinity_value": "warm golden hour", "weight": 1.5}
# The seed's bulk request
SEED_BULK = [
    GOLDEN_HOUR,
    {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2},
    {"affinity_type": "camera", "affinity_value": "close-up", "weight": 0.8},
    {"affinity_type": "effects", "affinity_value": "film grain, cinematic widescreen", "weight": 1.0},
]


def affinities_path(campaign_id: str) -> str:
    return f"/api/ads/campaigns/{campaign_id}/affinities"


def many(count: int) -> list[dict]:
    return [{"affinity_type": "theme", "affinity_value": f"theme {n}", "weight": 1.0} for n in range(count)]


def test_add_returns_201_with_the_seed_affinity(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    response = api.post(affinities_path(campaign["id"]), key=tenant_key, json=GOLDEN_HOUR)
    assert response.status == 201, response.body
    body = response.json()
    assert body["id"].startswith("aff_")
    assert body["created_at"].endswith("Z")
    assert {k: v for k, v in body.items() if k not in ("id", "created_at")} == {
        **GOLDEN_HOUR,
        "campaign_id": campaign["id"],
    }
    default_weight = api.post(
        affinities_path(campaign["id"]), key=tenant_key, json={"affinity_type": "mood", "affinity_value": "calm"}
    )
    assert default_weight.json()["weight"] == 1.0
    assert api.get(affinities_path(campaign["id"]), key=tenant_key).json() == [body, default_weight.json()]


def test_invalid_affinities_are_refused(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = affinities_path(campaign["id"])
    for body in (
        {**GOLDEN_HOUR, "affinity_type": "sound"},
        {**GOLDEN_HOUR, "weight": 0.05},
        {**GOLDEN_HOUR, "weight": 3.5},
        {**GOLDEN_HOUR, "affinity_value": ""},
        {**GOLDEN_HOUR, "affinity_value": "x" * 201},
    ):
        response = api.post(path, key=tenant_key, json=body)
        assert response.status == 422, (body, response.body)
    assert api.post(path, key=tenant_key, json={"affinity_type": "mood"}).status == 400
    assert api.post(path, key=tenant_key, json={**GOLDEN_HOUR, "weight": "1.5"}).status == 400  # not coerced
    assert api.get(path, key=tenant_key).json() == []


def test_delete_one_affinity(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = affinities_path(campaign["id"])
    kept, removed = (api.post(path, key=tenant_key, json=body).json() for body in SEED_BULK[:2])
    assert api.delete(f"{path}/{removed['id']}", key=tenant_key).status == 204
    assert api.get(path, key=tenant_key).json() == [kept]
    assert api.delete(f"{path}/{removed['id']}", key=tenant_key).status == 404


def test_bulk_replace_swaps_the_whole_set(api, tenant_key):
    # Given a campaign with one affinity
    campaign = funded_campaign(api, tenant_key)
    path = affinities_path(campaign["id"])
    old = api.post(path, key=tenant_key, json={"affinity_type": "action", "affinity_value": "chase"}).json()
    # When the seed's bulk request replaces them
    response = api.put(f"{path}/bulk", key=tenant_key, json={"affinities": SEED_BULK})
    # Then the new affinities come back in request order, and they are now the only ones
    assert response.status == 200, response.body
    created = response.json()
    assert [{k: a[k] for k in GOLDEN_HOUR} for a in created] == SEED_BULK
    assert all(a["id"].startswith("aff_") and a["campaign_id"] == campaign["id"] for a in created)
    assert api.get(path, key=tenant_key).json() == created
    assert old["id"] not in campaign_item(campaign["id"])["affinities"]
    # An empty list clears them
    assert api.put(f"{path}/bulk", key=tenant_key, json={"affinities": []}).json() == []
    assert api.get(path, key=tenant_key).json() == []


def test_bulk_with_an_invalid_item_or_too_many_changes_nothing(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = affinities_path(campaign["id"])
    before = api.put(f"{path}/bulk", key=tenant_key, json={"affinities": SEED_BULK}).json()
    one_bad = [*SEED_BULK[:3], {**SEED_BULK[3], "weight": 9}]
    response = api.put(f"{path}/bulk", key=tenant_key, json={"affinities": one_bad})
    assert response.status == 422
    assert "affinities.3.weight" in response.json()["detail"]
    too_many = api.put(f"{path}/bulk", key=tenant_key, json={"affinities": many(51)})
    assert too_many.status == 422
    assert api.put(f"{path}/bulk", key=tenant_key, json={}).status == 400
    assert api.get(path, key=tenant_key).json() == before


def test_at_most_50_affinities_per_campaign(api, tenant_key):
    # Given a campaign at the cap
    campaign = funded_campaign(api, tenant_key)
    path = affinities_path(campaign["id"])
    assert api.put(f"{path}/bulk", key=tenant_key, json={"affinities": many(50)}).status == 200
    # When one more is added, it is refused and nothing changes
    response = api.post(path, key=tenant_key, json=GOLDEN_HOUR)
    assert response.status == 422
    assert "at most 50" in response.json()["detail"]
    assert len(api.get(path, key=tenant_key).json()) == 50
    # The cap lives in the write's size() condition, so it holds even without the read that precedes it
    with pytest.raises(repository.WriteRefused):
        repository.put_child(
            campaign["id"],
            "tenant-a",
            repository.ChildMap.AFFINITIES,
            {"id": "aff_extra", "affinity_type": "mood", "affinity_value": "x", "weight": 1, "created_at": "x"},
            max_children=50,
        )
    assert len(campaign_item(campaign["id"])["affinities"]) == 50


def test_unknown_campaign_404_foreign_campaign_403_and_missing_auth_401(api, tenant_key, other_tenant_key):
    campaign = funded_campaign(api, tenant_key)
    path = affinities_path(campaign["id"])
    existing = api.post(path, key=tenant_key, json=GOLDEN_HOUR).json()
    register_advertiser(api, other_tenant_key)
    assert api.get(path, key=other_tenant_key).status == 403
    assert api.post(path, key=other_tenant_key, json=GOLDEN_HOUR).status == 403
    assert api.delete(f"{path}/{existing['id']}", key=other_tenant_key).status == 403
    assert api.put(f"{path}/bulk", key=other_tenant_key, json={"affinities": []}).status == 403
    assert api.get(path, key=tenant_key).json() == [existing]
    unknown = affinities_path("camp_unknown")
    assert api.get(unknown, key=tenant_key).status == 404
    assert api.post(unknown, key=tenant_key, json=GOLDEN_HOUR).status == 404
    assert api.delete(f"{unknown}/aff_x", key=tenant_key).status == 404
    assert api.put(f"{unknown}/bulk", key=tenant_key, json={"affinities": SEED_BULK}).status == 404
    assert api.get(path).status == 401
    assert api.put(f"{path}/bulk", json={"affinities": []}).status == 401
