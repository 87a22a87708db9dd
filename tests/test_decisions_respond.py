"""Decisions /api/v1/respond: one outcome per showing (offer + creative), and the outcome statistics of a deleted
offer (removed with it, never recreated by a late respond)."""

import botocore.client
import pytest
from botocore.exceptions import ClientError

from arbiter.decisions import cache
from arbiter.decisions import repository as decisions_repository
from tests.test_decisions_api import TENANT, _fresh_catalog_cache, creative, post, seed_catalog  # noqa: F401

TWO_PLACEMENTS = {
    "channel": "web",
    "deduplicate": False,
    "placements": [{"placementId": "hero_banner", "limit": 2}, {"placementId": "sidebar", "limit": 2}],
}
PROPENSITY_FLOW = {"key": "learned", "name": "L", "isDefault": True, "champion": {"scoringMethod": "propensity"}}


def respond(api, key, interaction_id, offer_id, outcome, creative_id=None):
    body = {"interactionId": interaction_id, "offerId": offer_id, "outcome": outcome}
    if creative_id is not None:
        body["creativeId"] = creative_id
    return post(api, key, "/api/v1/respond", body)


def recorded(api, key, *args, **kwargs) -> dict:
    response = respond(api, key, *args, **kwargs)
    assert response.status == 200, response.body
    return response.json()


def shown_twice(api, key, customer_id: str) -> tuple[str, str, str]:
    """(interaction, hero creative, sidebar creative) of a decision that shows the offer in both placements."""
    body = post(api, key, "/api/v1/recommend", {**TWO_PLACEMENTS, "customerId": customer_id}).json()
    creatives = {
        placement: {offer["offerId"]: offer["creative"]["creativeId"] for offer in group["offers"]}
        for placement, group in body["placements"].items()
    }
    return body["requestId"], creatives["hero_banner"], creatives["sidebar"]


def test_each_showing_of_an_offer_in_a_multi_placement_decision_records_its_own_outcome(api, tenant_key):
    # Given a multi-placement decision that shows one offer twice, with its hero and its sidebar creative
    platinum, gold, *_ = seed_catalog(api, tenant_key)
    interaction, hero, side = shown_twice(api, tenant_key, "C-two")
    offer = platinum["id"]
    assert hero[offer] != side[offer]

    # When the hero showing's impression is reported, then the sidebar showing's
    first = recorded(api, tenant_key, interaction, offer, "impression", creative_id=hero[offer])
    second = recorded(api, tenant_key, interaction, offer, "impression", creative_id=side[offer])

    # Then both are recorded, each answer naming its own creative
    assert (first["recorded"], first["creativeId"]) == (True, hero[offer])
    assert (second["recorded"], second["creativeId"]) == (True, side[offer])
    # And the contact history has one event per showing, the offer's statistics two impressions
    events, _ = decisions_repository.get_history(TENANT, "C-two", consistent=True)
    assert sorted(event["c"] for event in events) == sorted([hero[offer], side[offer]])
    assert decisions_repository.load_outcome_stats(TENANT)[offer]["impression"] == 2

    # When the sidebar showing's impression is reported again (a client retry)
    again = recorded(api, tenant_key, interaction, offer, "impression", creative_id=side[offer])
    # Then it is a no-op with the first answer of that showing
    assert (again["recorded"], again["creativeId"], again["timestamp"]) == (False, side[offer], second["timestamp"])
    events, _ = decisions_repository.get_history(TENANT, "C-two", consistent=True)
    assert len(events) == 2
    assert decisions_repository.load_outcome_stats(TENANT)[offer]["impression"] == 2

    # And without a creativeId the outcome is the first placement's showing's, already recorded
    default = recorded(api, tenant_key, interaction, offer, "impression")
    assert (default["recorded"], default["creativeId"]) == (False, hero[offer])
    # And a creative that was not shown with the offer in the decision is still refused
    foreign = respond(api, tenant_key, interaction, offer, "impression", creative_id=side[gold["id"]])
    assert foreign.status == 400, foreign.body
    assert "was not served with offer" in foreign.json()["detail"]


def test_each_showing_is_one_trial_and_at_most_one_positive_of_the_learned_propensity(api, tenant_key):
    # Given an offer with a hero and a sidebar creative, scored by its learned propensity
    offer = post(
        api,
        tenant_key,
        "/api/v1/offers",
        {"name": "A", "creatives": [creative("a hero"), creative("a side", placement="sidebar")]},
    ).json()
    post(api, tenant_key, "/api/v1/decision-flows", PROPENSITY_FLOW)
    interaction, hero, side = shown_twice(api, tenant_key, "u1")

    # When both showings are seen, the hero one clicked and converted, the sidebar one clicked
    for creative_id, outcomes in (
        (hero[offer["id"]], ("impression", "click", "convert")),
        (side[offer["id"]], ("impression", "click")),
    ):
        for outcome in outcomes:
            assert recorded(api, tenant_key, interaction, offer["id"], outcome, creative_id=creative_id)["recorded"]

    # Then the propensity counts two positives in two trials: one per showing, however far down its funnel
    cache.clear()  # as after CATALOG_CACHE_TTL_SECONDS: statistics are refreshed with the catalog
    explained = post(api, tenant_key, "/api/v1/recommend", {"customerId": "u9"}).json()["decisions"][0]
    assert (explained["scoreExplanation"]["positives"], explained["scoreExplanation"]["trials"]) == (2, 2)
    assert explained["scoreExplanation"]["finalScore"] == pytest.approx((2 + 1) / (2 + 1 + 9), abs=1e-6)


def test_deleting_an_offer_deletes_its_outcome_statistics(api, tenant_key):
    # Given two offers with recorded outcomes
    kept = post(api, tenant_key, "/api/v1/offers", {"name": "Kept", "creatives": [creative("k")]}).json()
    gone = post(api, tenant_key, "/api/v1/offers", {"name": "Gone", "creatives": [creative("g")]}).json()
    interaction = post(api, tenant_key, "/api/v1/recommend", {"customerId": "C1"}).json()["interactionId"]
    for offer in (kept, gone):
        assert recorded(api, tenant_key, interaction, offer["id"], "click")["recorded"] is True
    assert set(decisions_repository.load_outcome_stats(TENANT)) == {kept["id"], gone["id"]}

    # When one offer is deleted
    assert api.delete(f"/api/v1/offers/{gone['id']}", key=tenant_key, headers={"X-Tenant-Id": TENANT}).status == 204

    # Then the catalog snapshot's statistics no longer read its item; the other offer's are untouched
    stats = decisions_repository.load_outcome_stats(TENANT)
    assert set(stats) == {kept["id"]}
    assert stats[kept["id"]]["click"] == 1


def test_a_failed_offer_delete_deletes_neither_the_offer_nor_its_statistics(api, tenant_key, monkeypatch):
    # Given an offer with recorded outcomes, and DynamoDB failing every write that touches its statistics item
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "Gone", "creatives": [creative("g")]}).json()
    interaction = post(api, tenant_key, "/api/v1/recommend", {"customerId": "C1"}).json()["interactionId"]
    assert recorded(api, tenant_key, interaction, offer["id"], "click")["recorded"] is True
    stats_pk = decisions_repository.outcome_stats_key(TENANT, offer["id"])["PK"]
    original = botocore.client.BaseClient._make_api_call

    def failing_on_the_statistics(self, operation_name, api_params):
        if stats_pk in repr(api_params) and operation_name in ("DeleteItem", "TransactWriteItems"):
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "failed"}}, operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing_on_the_statistics)
    path = f"/api/v1/offers/{offer['id']}"
    headers = {"X-Tenant-Id": TENANT}

    # When the offer is deleted
    assert api.delete(path, key=tenant_key, headers=headers).status == 500

    # Then nothing was deleted: the offer and its statistics are both still there
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    assert api.get(path, key=tenant_key, headers=headers).status == 200
    assert decisions_repository.load_outcome_stats(TENANT)[offer["id"]]["click"] == 1
    # And the retried delete removes both
    assert api.delete(path, key=tenant_key, headers=headers).status == 204
    assert api.get(path, key=tenant_key, headers=headers).status == 404
    assert offer["id"] not in decisions_repository.load_outcome_stats(TENANT)


def test_a_respond_for_a_deleted_offer_records_the_outcome_without_recreating_its_statistics(api, tenant_key):
    # Given a decision that showed an offer with recorded outcomes, then the offer deleted
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "Gone", "creatives": [creative("g")]}).json()
    interaction = post(api, tenant_key, "/api/v1/recommend", {"customerId": "C1"}).json()["interactionId"]
    assert recorded(api, tenant_key, interaction, offer["id"], "impression")["recorded"] is True
    assert api.delete(f"/api/v1/offers/{offer['id']}", key=tenant_key, headers={"X-Tenant-Id": TENANT}).status == 204

    # When the showing's later click and convert are reported, and the convert retried
    click = recorded(api, tenant_key, interaction, offer["id"], "click")
    convert = recorded(api, tenant_key, interaction, offer["id"], "convert", creative_id=offer["creatives"][0]["id"])
    retry = recorded(api, tenant_key, interaction, offer["id"], "convert")

    # Then they are recorded once in the customer's contact history (contact policies still see them)
    assert (click["recorded"], convert["recorded"], retry["recorded"]) == (True, True, False)
    events, _ = decisions_repository.get_history(TENANT, "C1", consistent=True)
    assert [event["t"] for event in events] == ["impression", "click", "convert"]
    # And the deleted offer's statistics item is not recreated
    assert offer["id"] not in decisions_repository.load_outcome_stats(TENANT)
