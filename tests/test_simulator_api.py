"""Simulator (seed 001, Simulator): preview a campaign's pipeline bias, draft included; the options."""

import pytest

from tests.ads_fixtures import ACME_SHIELD_HOOK, add_creative, funded_campaign

# The seed's simulate request.
SEED_SIMULATE = {"narrative_function": "The president reviews classified documents in the Oval Office", "mood": "tense"}
AFFINITIES = [
    {"affinity_type": "lighting", "affinity_value": "warm golden hour", "weight": 1.5},
    {"affinity_type": "effects", "affinity_value": "film grain, cinematic widescreen", "weight": 1.0},
    {"affinity_type": "camera", "affinity_value": "close-up", "weight": 1.0},
    {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2},
    {"affinity_type": "mood", "affinity_value": "hopeful", "weight": 0.8},
]


def draft_with_affinities(api, key: str) -> dict:
    campaign = funded_campaign(api, key)
    creative = add_creative(api, key, campaign["id"])
    response = api.put(f"/api/ads/campaigns/{campaign['id']}/affinities/bulk", key=key, json={"affinities": AFFINITIES})
    assert response.status == 200, response.body
    return {**campaign, "creative_id": creative["id"]}


def test_simulating_a_draft_campaign_previews_its_bias(api, tenant_key):
    # Given a draft campaign (never activated) with the seed's creative and affinities
    campaign = draft_with_affinities(api, tenant_key)
    assert campaign["status"] == "draft"

    # When the advertiser simulates the seed's scene
    response = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=tenant_key, json=SEED_SIMULATE)

    # Then the seed's shape: the creative /match would pick, the pipeline bias and the scores
    assert response.status == 200, response.body
    assert response.json() == {
        "campaign_id": campaign["id"],
        "matched_creative": {
            "id": campaign["creative_id"],
            "narrative_hook": ACME_SHIELD_HOOK["narrative_hook"],
            "creative_type": "narrative_hook",
        },
        "biased_pipeline": {
            "lighting": "warm golden hour",
            "effects": "film grain, cinematic widescreen",
            "camera": "close-up",
            "mood": "tense",
        },
        "affinity_scores": {"mood": 0.6},  # 1.2 matched of 2.0 mood weight
        "total_score": 0.6,
        # Additive: the seed's campaign targets "political", which this scene never mentions, so /match would
        # not serve it here however well it scores
        "warnings": [
            {"filter": "target_tags", "reason": "no target_tags match the context's theme, mood tags or narrative"}
        ],
    }


def test_a_narrative_scores_the_location_theme_action_and_category_affinities_it_names(api, tenant_key):
    # Given a campaign with a location affinity and an action affinity the seed's narrative names, and a theme
    # affinity it does not
    campaign = funded_campaign(api, tenant_key)
    add_creative(api, tenant_key, campaign["id"])
    affinities = [
        {"affinity_type": "location", "affinity_value": "Oval Office", "weight": 2.0},
        {"affinity_type": "action", "affinity_value": "review documents", "weight": 1.0},
        {"affinity_type": "theme", "affinity_value": "space", "weight": 1.0},
    ]
    put = api.put(
        f"/api/ads/campaigns/{campaign['id']}/affinities/bulk", key=tenant_key, json={"affinities": affinities}
    )
    assert put.status == 200, put.body
    # When the seed's scene is simulated
    body = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=tenant_key, json=SEED_SIMULATE).json()
    # Then the location scores as /match would score a scene at the Oval Office, the action by its words
    # ("review" is not "reviews": words are not stemmed), the theme not at all
    assert body["affinity_scores"] == {"location": 1.0, "action": 0.5, "theme": 0.0}
    assert body["total_score"] == round((2.0 * 1.0 + 1.0 * 0.5) / 4.0, 2)


def test_simulating_warns_of_each_rule_that_would_keep_match_from_serving_the_scene(api, tenant_key):
    # Given the seed's campaign without target tags
    campaign = draft_with_affinities(api, tenant_key)
    path = f"/api/ads/campaigns/{campaign['id']}"
    assert api.patch(path, key=tenant_key, json={"target_tags": []}).status == 200
    simulate = f"{path}/simulate"
    # Then the seed's scene trips nothing
    assert api.post(simulate, key=tenant_key, json=SEED_SIMULATE).json()["warnings"] == []

    # When a blocklist keyword of that scene is added
    blocked = api.post(f"{path}/blocklist", key=tenant_key, json={"rule_type": "keyword", "value": "classified"})
    assert blocked.status == 201, blocked.body
    body = api.post(simulate, key=tenant_key, json=SEED_SIMULATE).json()

    # Then the preview still scores the scene, and names the rule that would keep /match from serving it
    assert body["total_score"] == 0.6
    assert [warning["filter"] for warning in body["warnings"]] == ["blocklist"]
    assert "classified" in body["warnings"][0]["reason"]


def test_simulating_without_a_context_is_allowed(api, tenant_key):
    # Given a draft campaign
    campaign = draft_with_affinities(api, tenant_key)
    # When simulated with an empty body
    response = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=tenant_key, json={})
    # Then nothing matched: zero scores, the presentation bias only
    assert response.status == 200, response.body
    body = response.json()
    assert body["total_score"] == 0.0
    assert body["affinity_scores"] == {"mood": 0.0}
    assert "mood" not in body["biased_pipeline"]


def test_a_campaign_without_creatives_has_no_matched_creative(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    response = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=tenant_key, json=SEED_SIMULATE)
    assert response.status == 200, response.body
    assert response.json()["matched_creative"] is None
    assert response.json()["total_score"] == 0.5  # no context affinities: neutral, as /match scores it


def test_simulating_another_advertisers_campaign_is_403(api, tenant_key, other_tenant_key):
    # Given a campaign of another tenant
    campaign = draft_with_affinities(api, tenant_key)
    # When this tenant simulates it, or asks for its options
    simulated = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=other_tenant_key, json=SEED_SIMULATE)
    options = api.get(f"/api/ads/campaigns/{campaign['id']}/simulate/options", key=other_tenant_key)
    # Then 403
    assert simulated.status == 403
    assert options.status == 403
    assert simulated.json()["detail"]


def test_unknown_campaign_is_404(api, tenant_key):
    assert api.post("/api/ads/campaigns/camp_missing/simulate", key=tenant_key, json={}).status == 404
    assert api.get("/api/ads/campaigns/camp_missing/simulate/options", key=tenant_key).status == 404


def test_without_a_key_is_401(api, tenant_key):
    campaign = funded_campaign(api, tenant_key)
    assert api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", json={}).status == 401
    assert api.get(f"/api/ads/campaigns/{campaign['id']}/simulate/options").status == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"narrative_function": "x" * 4001}, 422),
        ({"mood": "m" * 65}, 422),
        ({"mood": 3}, 400),
    ],
)
def test_bad_input_is_refused(api, tenant_key, body, status):
    campaign = funded_campaign(api, tenant_key)
    response = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=tenant_key, json=body)
    assert response.status == status, response.body
    assert response.json()["detail"]


def test_options_list_moods_examples_and_current_affinities(api, tenant_key):
    # Given a campaign with affinities
    campaign = draft_with_affinities(api, tenant_key)
    # When the advertiser asks for the simulation options
    response = api.get(f"/api/ads/campaigns/{campaign['id']}/simulate/options", key=tenant_key)
    # Then the seed's shape, the affinities in creation order
    assert response.status == 200, response.body
    body = response.json()
    assert body["moods"] == ["tense", "hopeful", "dramatic", "calm", "chaotic", "mysterious", "humorous", "melancholic"]
    assert body["narrative_examples"][0] == "The president addresses the nation from the Oval Office"
    assert len(body["narrative_examples"]) == 4
    assert body["current_affinities"] == AFFINITIES


def test_a_request_without_a_body_previews_without_a_context(api, tenant_key):
    # Given a draft campaign
    campaign = draft_with_affinities(api, tenant_key)
    # When simulated with no request body at all (both fields are optional)
    response = api.post(f"/api/ads/campaigns/{campaign['id']}/simulate", key=tenant_key)
    # Then the same preview as an empty object
    assert response.status == 200, response.body
    assert response.json()["total_score"] == 0.0
