"""Decisions API (seed 002): catalog through the API, recommend, respond, and contact policies in effect."""

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from arbiter import aws, clock, ratelimit
from arbiter.decisions import cache
from arbiter.decisions import repository as decisions_repository
from arbiter.decisions import respond as respond_logic
from arbiter.ratelimit import RateLimitClass

TENANT = "tenant-a"


@pytest.fixture(autouse=True)
def _fresh_catalog_cache():
    cache.clear()
    yield
    cache.clear()


def headers(tenant: str = TENANT) -> dict[str, str]:
    return {"X-Tenant-Id": tenant}


def post(api, key, path, body, tenant=TENANT):
    return api.post(path, key=key, json=body, headers=headers(tenant))


SEED_BODY = {
    "customerId": "CUST001",
    "channel": "web",
    "placement": "hero_banner",
    "limit": 3,
    "segments": ["high_value"],
    "attributes": {"tier": "gold"},
}


def creative(name, placement="hero_banner", channel="web", **extra):
    return {
        "name": name,
        "channelType": channel,
        "channelName": "Website",
        "placement": placement,
        "templateType": "web_banner",
        "content": {"headline": name},
        **extra,
    }


def seed_catalog(api, key):
    platinum = post(
        api,
        key,
        "/api/v1/offers",
        {
            "name": "Platinum Card",
            "category": "Credit Cards",
            "subCategory": "Premium",
            "priority": 90,
            "expiresAt": "2030-06-30T00:00:00Z",
            "creatives": [
                creative("Platinum hero", personalization={"greeting": "Hi {{tier}} member"}),
                creative("Platinum side", placement="sidebar"),
            ],
        },
    )
    assert platinum.status == 201, platinum.body
    gold = post(
        api,
        key,
        "/api/v1/offers",
        {
            "name": "Gold Loan",
            "category": "Loans",
            "priority": 70,
            "creatives": [creative("Gold hero"), creative("Gold side", placement="sidebar")],
        },
    ).json()
    premium_only = post(
        api,
        key,
        "/api/v1/offers",
        {
            "name": "Premium Lounge",
            "category": "Travel",
            "priority": 95,
            "creatives": [creative("Lounge hero")],
        },
    ).json()
    rule = post(
        api,
        key,
        "/api/v1/qualification-rules",
        {
            "name": "Lounge needs premium",
            "type": "segment_required",
            "segments": ["premium"],
            "appliesTo": {"offerIds": [premium_only["id"]]},
        },
    )
    assert rule.status == 201, rule.body
    policy = post(
        api,
        key,
        "/api/v1/contact-policies",
        {
            "name": "1 day after dismiss",
            "type": "cooldown",
            "scope": "offer",
            "durationSeconds": 86400,
            "triggerOutcomes": ["dismiss"],
        },
    )
    assert policy.status == 201, policy.body
    flow = post(api, key, "/api/v1/decision-flows", {"key": "default-flow", "name": "Default", "isDefault": True})
    assert flow.status == 201, flow.body
    return platinum.json(), gold, premium_only, rule.json(), policy.json()


def test_seed_curl_then_dismiss_then_cooldown_drops_the_offer(api, tenant_key):
    # Given a catalog created through the API
    platinum, gold, lounge, rule, policy = seed_catalog(api, tenant_key)
    # When the seed's cURL body is sent
    first = post(api, tenant_key, "/api/v1/recommend", SEED_BODY)
    # Then the V1 response has every documented field, best offer first
    assert first.status == 200, first.body
    body = first.json()
    for field in (
        "interactionId",
        "customerId",
        "sessionId",
        "decisionFlowKey",
        "decisionFlowVersion",
        "experimentVariant",
        "timestamp",
        "channel",
        "placement",
        "policyVersion",
        "locale",
        "currency",
        "count",
        "decisions",
    ):
        assert field in body, field
    assert "debugTrace" not in body
    assert body["decisionFlowKey"] == "default-flow" and body["decisionFlowVersion"] == 1
    assert body["experimentVariant"] == "champion"
    assert [d["offerId"] for d in body["decisions"]] == [platinum["id"], gold["id"]]
    top = body["decisions"][0]
    for field in (
        "rank",
        "score",
        "creativeId",
        "creativeName",
        "offerId",
        "offerName",
        "category",
        "subCategory",
        "channelType",
        "channelName",
        "placement",
        "templateType",
        "content",
        "personalization",
        "abTestVariant",
        "weight",
        "priority",
        "constraints",
        "expiresAt",
        "metadata",
        "scoreExplanation",
    ):
        assert field in top, field
    assert top["placement"] == "hero_banner"
    assert top["personalization"] == {"greeting": "Hi gold member"}
    assert top["scoreExplanation"]["method"] == "priority_weighted"
    assert top["score"] == pytest.approx(0.9)

    # When the customer dismisses the top offer
    dismissed = post(
        api,
        tenant_key,
        "/api/v1/respond",
        {"interactionId": body["interactionId"], "offerId": platinum["id"], "outcome": "dismiss"},
    )
    assert dismissed.status == 200, dismissed.body
    assert dismissed.json()["recorded"] is True
    again = post(
        api,
        tenant_key,
        "/api/v1/respond",
        {"interactionId": body["interactionId"], "offerId": platinum["id"], "outcome": "dismiss"},
    )
    assert again.status == 200 and again.json()["recorded"] is False

    # Then the next decision drops it under the cooldown, and debug says why
    second = post(api, tenant_key, "/api/v1/recommend", {**SEED_BODY, "debug": True}).json()
    assert [d["offerId"] for d in second["decisions"]] == [gold["id"]]
    trace = second["debugTrace"]
    assert trace["totalCandidates"] == 3
    assert trace["afterQualification"] == 2
    assert trace["afterContactPolicy"] == 1
    assert trace["policyVersion"] == second["policyVersion"]
    assert {"offerId": lounge["id"], "reason": "segment_required: missing 'premium'", "policyId": rule["id"]} in trace[
        "qualificationReasons"
    ]
    cooled = [r for r in trace["contactPolicyReasons"] if r["offerId"] == platinum["id"]]
    assert cooled and cooled[0]["policyId"] == policy["id"] and cooled[0]["reason"].startswith("cooldown after dismiss")
    assert trace["featureContributions"][0]["offerId"] == gold["id"]
    assert trace["topScores"][0]["offerId"] == gold["id"]


def test_multi_placement_deduplicate_returns_no_offer_twice(api, tenant_key):
    seed_catalog(api, tenant_key)
    request = {
        "customerId": "C2",
        "channel": "web",
        "deduplicate": True,
        "placements": [{"placementId": "hero_banner", "limit": 2}, {"placementId": "sidebar", "limit": 2}],
    }
    response = post(api, tenant_key, "/api/v1/recommend", request)
    assert response.status == 200, response.body
    body = response.json()
    assert set(body) >= {"placements", "customerId", "requestId", "timestamp"}
    hero = [o["offerId"] for o in body["placements"]["hero_banner"]["offers"]]
    side = [o["offerId"] for o in body["placements"]["sidebar"]["offers"]]
    assert len(hero) == 2 and not set(hero) & set(side)
    assert body["placements"]["hero_banner"]["offers"][0]["creative"]["placement"] == "hero_banner"
    # Without deduplicate the sidebar repeats the hero's offers
    plain = post(api, tenant_key, "/api/v1/recommend", {**request, "deduplicate": False}).json()
    assert plain["placements"]["sidebar"]["count"] == 2
    assert {o["offerId"] for o in plain["placements"]["sidebar"]["offers"]} == set(hero)


def test_get_recommend_is_flat_without_interaction_fields(api, tenant_key):
    seed_catalog(api, tenant_key)
    response = api.get(
        "/api/v1/recommend?customerId=CUST001&channel=web&placement=hero_banner&limit=5&debug=true",
        key=tenant_key,
        headers=headers(),
    )
    assert response.status == 200, response.body
    body = response.json()
    assert not {"interactionId", "sessionId", "locale", "currency"} & set(body)
    assert body["count"] == 2 and "debugTrace" in body


def test_error_codes(api, tenant_key, other_tenant_key):
    url = "/api/v1/recommend"
    assert api.post(url, json=SEED_BODY).status == 401  # no key, no tenant
    assert api.post(url, key=tenant_key, json=SEED_BODY).status == 401  # no X-Tenant-Id
    assert api.post(url, key=tenant_key, json=SEED_BODY, headers=headers("tenant-b")).status == 401  # wrong tenant
    assert api.post(url, key="ak_wrong", json=SEED_BODY, headers=headers()).status == 401
    bad_json = api.post(url, key=tenant_key, body="{nope", headers=headers())
    assert bad_json.status == 400 and bad_json.json()["detail"] == "Request body is not valid JSON"
    # The seed's error table: an invalid sessionId format is 400 (its length bound is part of the format)
    bad_session = post(api, tenant_key, url, {**SEED_BODY, "sessionId": "has spaces!"})
    assert bad_session.status == 400 and "sessionId" in bad_session.json()["detail"]
    too_long = post(api, tenant_key, url, {**SEED_BODY, "sessionId": "a" * 65})
    assert too_long.status == 400 and "sessionId" in too_long.json()["detail"]
    assert post(api, tenant_key, url, {**SEED_BODY, "sessionId": "a" * 64}).status == 200
    assert post(api, tenant_key, url, {**SEED_BODY, "limit": 51}).status == 422
    text = api.post(
        url, key=tenant_key, body='{"customerId": "x"}', headers={**headers(), "Content-Type": "text/plain"}
    )
    assert text.status == 415 and text.json()["detail"]
    assert post(api, tenant_key, url, {**SEED_BODY, "decisionFlowKey": "missing"}).status == 404
    # respond: unknown and foreign interactions
    unknown = post(
        api, tenant_key, "/api/v1/respond", {"interactionId": "nope", "offerId": "off_x", "outcome": "click"}
    )
    assert unknown.status == 404
    post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]})
    decision = post(api, tenant_key, url, SEED_BODY).json()
    foreign = post(
        api,
        other_tenant_key,
        "/api/v1/respond",
        {
            "interactionId": decision["interactionId"],
            "offerId": decision["decisions"][0]["offerId"],
            "outcome": "click",
        },
        tenant="tenant-b",
    )
    assert foreign.status == 403
    bad_outcome = post(
        api,
        tenant_key,
        "/api/v1/respond",
        {"interactionId": decision["interactionId"], "offerId": decision["decisions"][0]["offerId"], "outcome": "love"},
    )
    assert bad_outcome.status == 422


OFFER_BODY = {"name": "A", "creatives": [creative("a")]}
RULE_BODY = {"name": "r", "type": "attribute", "condition": {"field": "score", "operator": "range", "min": 1}}
POLICY_BODY = {"name": "p", "type": "frequency_cap", "maxCount": 3, "windowSeconds": 60}
GUARDRAIL_BODY = {"name": "g", "type": "min_score", "minScore": 0.5}
FLOW_BODY = {"key": "f", "name": "F", "experiment": {"challenger": {}, "challengerShare": 0.5}}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/recommend", {**SEED_BODY, "limit": "3"}),
        ("/api/v1/recommend", {**SEED_BODY, "limit": 3.0}),
        ("/api/v1/recommend", {**SEED_BODY, "debug": "yes"}),
        ("/api/v1/recommend", {**SEED_BODY, "deduplicate": 1}),
        ("/api/v1/recommend", {**SEED_BODY, "placements": [{"placementId": "hero", "limit": "2"}]}),
        ("/api/v1/offers", {**OFFER_BODY, "priority": "50"}),
        ("/api/v1/offers", {**OFFER_BODY, "weight": True}),
        ("/api/v1/offers", {**OFFER_BODY, "value": "9.99"}),
        ("/api/v1/offers", {**OFFER_BODY, "creatives": [creative("a", weight="100")]}),
        ("/api/v1/qualification-rules", {**RULE_BODY, "condition": {**RULE_BODY["condition"], "min": "1"}}),
        ("/api/v1/qualification-rules", {**RULE_BODY, "enabled": "false"}),
        ("/api/v1/contact-policies", {**POLICY_BODY, "maxCount": "3"}),
        ("/api/v1/contact-policies", {**POLICY_BODY, "windowSeconds": 60.0}),
        ("/api/v1/contact-policies", {**POLICY_BODY, "enabled": 0}),
        ("/api/v1/guardrails", {**GUARDRAIL_BODY, "minScore": "0.5"}),
        ("/api/v1/decision-flows", {**FLOW_BODY, "isDefault": "true"}),
        ("/api/v1/decision-flows", {**FLOW_BODY, "experiment": {"challenger": {}, "challengerShare": "0.5"}}),
        ("/api/v1/decision-flows", {**FLOW_BODY, "champion": {"priorPositives": True}}),
        ("/api/v1/decision-flows", {**FLOW_BODY, "routing": {"priority": "1"}}),
    ],
)
def test_a_value_of_the_wrong_json_type_is_400_not_coerced(api, tenant_key, path, body):
    # Given a body whose number or boolean is sent as another JSON type ("3", 3.0 for an integer, "yes", 1)
    response = post(api, tenant_key, path, body)
    # Then it is refused as malformed (a wrong type is 400 across the APIs, an out-of-range value 422), with the
    # field named, rather than read as the value it might mean
    assert response.status == 400, response.body
    assert "Input should be a valid" in response.json()["detail"]
    # And nothing was created
    if path != "/api/v1/recommend":
        listed = api.get(path, key=tenant_key, headers=headers()).json()
        assert listed["count"] == 0


def test_dates_are_validated_and_kept_as_utc_like_every_api(api, tenant_key):
    # An offer's dates in any ISO 8601 form are stored and shown in UTC with a trailing Z, as Ads and Offers do
    body = {**OFFER_BODY, "startAt": "2026-06-01T02:00:00+02:00", "endAt": "2026-07-01"}
    offer = post(api, tenant_key, "/api/v1/offers", body)
    assert offer.status == 201, offer.body
    assert (offer.json()["startAt"], offer.json()["endAt"]) == ("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")
    # And one that is not a date is 422 with the field named, also a respond timestamp
    bad = post(api, tenant_key, "/api/v1/offers", {**OFFER_BODY, "expiresAt": "tomorrow"})
    assert bad.status == 422 and bad.json()["detail"].startswith("expiresAt: ")
    respond = {"interactionId": "any", "offerId": "off_x", "outcome": "click", "timestamp": "yesterday"}
    late = post(api, tenant_key, "/api/v1/respond", respond)
    assert late.status == 422 and late.json()["detail"].startswith("timestamp: ")


def test_a_put_keeps_the_creatives_it_names_by_id_and_their_contact_history(api, tenant_key):
    # Given an offer with two creatives, a once-per-day cap per creative, and one showing of the first creative
    body = {"name": "A", "creatives": [creative("a"), creative("b", placement="sidebar")]}
    offer = post(api, tenant_key, "/api/v1/offers", body).json()
    first, second = offer["creatives"]
    cap = {"name": "once", "type": "frequency_cap", "scope": "creative", "maxCount": 1, "windowSeconds": 86400}
    assert post(api, tenant_key, "/api/v1/contact-policies", cap).status == 201
    shown = post(api, tenant_key, "/api/v1/recommend", SEED_BODY).json()
    assert shown["decisions"][0]["creativeId"] == first["id"]
    respond = {"interactionId": shown["interactionId"], "offerId": offer["id"], "outcome": "impression"}
    assert post(api, tenant_key, "/api/v1/respond", respond).status == 200
    # When the offer is PUT with the first creative renamed under its id, and a new third one
    put = {**body, "creatives": [{**creative("a renamed"), "id": first["id"]}, creative("c", placement="footer")]}
    updated = api.put(f"/api/v1/offers/{offer['id']}", key=tenant_key, json=put, headers=headers())
    # Then the named creative keeps its id and creation time, the unnamed one is new, the omitted one is gone
    assert updated.status == 200, updated.body
    kept, added = updated.json()["creatives"]
    assert (kept["id"], kept["createdAt"], kept["name"]) == (first["id"], first["createdAt"], "a renamed")
    assert added["id"] not in (first["id"], second["id"])
    # And the cap still counts the earlier showing against it: the customer is not shown it again today
    cache.clear()
    again = post(api, tenant_key, "/api/v1/recommend", SEED_BODY).json()
    assert again["decisions"] == []
    # A creative id the offer does not have, a repeated id, or an id in a create is refused
    for creatives in ([{**creative("x"), "id": "dcr_unknown"}], [{**creative("x"), "id": first["id"]}] * 2):
        refused = api.put(
            f"/api/v1/offers/{offer['id']}", key=tenant_key, json={**body, "creatives": creatives}, headers=headers()
        )
        assert refused.status == 422, refused.body
    created = post(api, tenant_key, "/api/v1/offers", {"name": "B", "creatives": [{**creative("x"), "id": "dcr_1"}]})
    assert created.status == 422, created.body


def test_catalog_crud_and_tenant_rule(api, tenant_key, other_tenant_key):
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "A", "category": "X"}).json()
    path = f"/api/v1/offers/{offer['id']}"
    assert api.get(path, key=tenant_key, headers=headers()).json()["name"] == "A"
    assert api.get(path, key=other_tenant_key, headers=headers("tenant-b")).status == 403
    assert api.get("/api/v1/offers/off_missing", key=tenant_key, headers=headers()).status == 404
    updated = api.put(path, key=tenant_key, json={"name": "B", "priority": 10}, headers=headers())
    assert updated.status == 200 and updated.json()["name"] == "B"
    added = post(api, tenant_key, f"{path}/creatives", creative("c1"))
    assert added.status == 201, added.body
    listed = api.get(f"{path}/creatives", key=tenant_key, headers=headers()).json()
    assert listed["count"] == 1
    crt = added.json()["id"]
    assert api.delete(f"{path}/creatives/{crt}", key=tenant_key, headers=headers()).status == 204
    assert api.delete(f"{path}/creatives/{crt}", key=tenant_key, headers=headers()).status == 404
    assert api.get("/api/v1/offers", key=tenant_key, headers=headers()).json()["count"] == 1
    assert api.delete(path, key=tenant_key, headers=headers()).status == 204
    assert api.get(path, key=tenant_key, headers=headers()).status == 404
    # flows are versioned
    first = post(api, tenant_key, "/api/v1/decision-flows", {"key": "f", "name": "F"}).json()
    second = post(api, tenant_key, "/api/v1/decision-flows", {"key": "f", "name": "F2"}).json()
    assert (first["version"], second["version"]) == (1, 2)
    assert api.get("/api/v1/decision-flows/f", key=tenant_key, headers=headers()).json()["name"] == "F2"
    # a deleted flow stops being listed and served; its key can be published again, continuing the versions
    assert api.delete("/api/v1/decision-flows/f", key=tenant_key, headers=headers()).status == 204
    assert api.get("/api/v1/decision-flows/f", key=tenant_key, headers=headers()).status == 404
    assert api.delete("/api/v1/decision-flows/f", key=tenant_key, headers=headers()).status == 404
    assert api.get("/api/v1/decision-flows", key=tenant_key, headers=headers()).json()["count"] == 0
    again = post(api, tenant_key, "/api/v1/decision-flows", {"key": "f", "name": "F3"})
    assert again.status == 201, again.body
    assert again.json()["version"] == 3
    assert api.get("/api/v1/decision-flows/f", key=tenant_key, headers=headers()).json()["name"] == "F3"
    # invalid rule shapes are refused with nothing written
    assert post(api, tenant_key, "/api/v1/qualification-rules", {"name": "r", "type": "attribute"}).status == 422
    # a cap counting more events than a contact history keeps (its newest 500) could never be reached
    policy = {"name": "cap", "type": "frequency_cap", "maxCount": 501, "windowSeconds": 86400}
    unreachable = post(api, tenant_key, "/api/v1/contact-policies", policy)
    assert unreachable.status == 422
    assert "maxCount" in unreachable.json()["detail"]
    assert post(api, tenant_key, "/api/v1/contact-policies", {**policy, "maxCount": 500}).status == 201
    assert api.get("/api/v1/qualification-rules", key=tenant_key, headers=headers()).json()["count"] == 0


def test_an_expired_offer_or_one_without_creatives_is_not_served_and_debug_says_why(api, tenant_key):
    # Given an offer past its expiresAt, one still valid, and one with no creative yet
    old = post(
        api,
        tenant_key,
        "/api/v1/offers",
        {"name": "Old", "expiresAt": "2020-01-01T00:00:00Z", "creatives": [creative("a")]},
    ).json()
    valid = post(
        api,
        tenant_key,
        "/api/v1/offers",
        {"name": "New", "expiresAt": "2099-01-01T00:00:00Z", "creatives": [creative("b")]},
    ).json()
    empty = post(api, tenant_key, "/api/v1/offers", {"name": "Empty"}).json()
    # When a decision is requested with debug
    body = post(api, tenant_key, "/api/v1/recommend", {**SEED_BODY, "debug": True}).json()
    # Then only the valid offer is served, and every other candidate has its reason
    assert [d["offerId"] for d in body["decisions"]] == [valid["id"]]
    assert body["debugTrace"]["totalCandidates"] == 3
    other = {r["offerId"]: r["reason"] for r in body["debugTrace"]["otherReasons"]}
    assert other == {
        old["id"]: "offer_state: offer expired at 2020-01-01T00:00:00Z",
        empty["id"]: "offer has no creatives",
    }


def test_a_respond_colliding_with_another_on_the_offers_statistics_is_retried(api, tenant_key, monkeypatch):
    # Given a decision, and DynamoDB cancelling the first respond transaction for a concurrent one on the same
    # offer's statistics (TransactionConflict)
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]}).json()
    interaction = post(api, tenant_key, "/api/v1/recommend", SEED_BODY).json()["interactionId"]
    client = aws.dynamodb_client()
    real_transact = client.transact_write_items
    attempts = []

    def busy_once(**kwargs):
        attempts.append(kwargs)
        if len(attempts) == 1:
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "None"}, {"Code": "TransactionConflict"}],
            }
            raise ClientError(error, "TransactWriteItems")
        return real_transact(**kwargs)

    monkeypatch.setattr(respond_logic, "CONTENTION_BACKOFF_SECONDS", 0)
    monkeypatch.setattr(decisions_repository.aws, "dynamodb_client", lambda: client)
    monkeypatch.setattr(client, "transact_write_items", busy_once)
    # When the customer's click is reported
    body = {"interactionId": interaction, "offerId": offer["id"], "outcome": "click"}
    response = post(api, tenant_key, "/api/v1/respond", body)
    # Then it is recorded on the second attempt (it answered 500), once
    assert response.status == 200, response.body
    assert response.json()["recorded"] is True
    assert len(attempts) == 2
    assert post(api, tenant_key, "/api/v1/respond", body).json()["recorded"] is False


def test_a_respond_whose_history_read_missed_the_latest_write_rereads_it_consistently(api, tenant_key, monkeypatch):
    # Given a customer with one recorded outcome, and eventually consistent reads of the history that still
    # return the state before it (DynamoDB replication lag)
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]}).json()
    interaction = post(api, tenant_key, "/api/v1/recommend", SEED_BODY).json()["interactionId"]
    click = {"interactionId": interaction, "offerId": offer["id"], "outcome": "click"}
    assert post(api, tenant_key, "/api/v1/respond", click).json()["recorded"] is True
    real_get_history = decisions_repository.get_history

    def lagging(tenant_id, customer_id, consistent=False):
        return real_get_history(tenant_id, customer_id, consistent=True) if consistent else ([], 0)

    monkeypatch.setattr(decisions_repository, "get_history", lagging)
    monkeypatch.setattr(respond_logic, "CONTENTION_BACKOFF_SECONDS", 0)
    # When the next outcome is reported
    response = post(api, tenant_key, "/api/v1/respond", {**click, "outcome": "convert"})
    # Then it is recorded after one consistent re-read (every attempt on the stale view answered 409)
    assert response.status == 200, response.body
    assert response.json()["recorded"] is True
    events, _ = real_get_history(TENANT, "CUST001", consistent=True)
    assert [event["t"] for event in events] == ["click", "convert"]


def test_an_outcome_is_timed_within_the_decision_and_now_whatever_the_clients_clock(api, tenant_key):
    # Given an offer shown at 12:00 and the server clock at 12:05
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]}).json()
    shown = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clock.set_clock(lambda: shown)
    interaction = post(api, tenant_key, "/api/v1/recommend", SEED_BODY).json()["interactionId"]
    clock.set_clock(lambda: datetime(2026, 3, 1, 12, 5, tzinfo=UTC))
    try:
        # When outcomes are reported with a timestamp before the showing, inside the window, and in the future
        for outcome, timestamp in (
            ("impression", "2020-01-01T00:00:00Z"),
            ("click", "2026-03-01T12:02:00Z"),
            ("dismiss", "2030-01-01T00:00:00Z"),
        ):
            body = {"interactionId": interaction, "offerId": offer["id"], "outcome": outcome, "timestamp": timestamp}
            assert post(api, tenant_key, "/api/v1/respond", body).status == 200
    finally:
        clock.set_clock(None)
    # Then the contact history places them at the showing, as reported, and at the server's now
    events, _ = decisions_repository.get_history(TENANT, SEED_BODY["customerId"])
    noon = int(shown.timestamp())
    assert [(event["t"], event["ts"]) for event in events] == [
        ("impression", noon),
        ("click", noon + 120),
        ("dismiss", noon + 300),
    ]


def test_learned_model_changes_the_next_decision(api, tenant_key):
    a = post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]}).json()
    b = post(api, tenant_key, "/api/v1/offers", {"name": "B", "creatives": [creative("b")]}).json()
    post(
        api,
        tenant_key,
        "/api/v1/decision-flows",
        {"key": "learned", "name": "L", "isDefault": True, "champion": {"scoringMethod": "propensity"}},
    )
    for customer in ("u1", "u2", "u3"):
        decision = post(api, tenant_key, "/api/v1/recommend", {"customerId": customer, "limit": 2}).json()
        assert decision["count"] == 2
        for outcome in ("impression", "convert"):
            response = post(
                api,
                tenant_key,
                "/api/v1/respond",
                {"interactionId": decision["interactionId"], "offerId": b["id"], "outcome": outcome},
            )
            assert response.status == 200, response.body
    cache.clear()  # as after CATALOG_CACHE_TTL_SECONDS: statistics are refreshed with the catalog
    after = post(api, tenant_key, "/api/v1/recommend", {"customerId": "u9", "limit": 2}).json()
    assert [d["offerId"] for d in after["decisions"]] == [b["id"], a["id"]]
    assert after["decisions"][0]["scoreExplanation"]["positives"] == 3


def test_a_showing_counts_one_positive_however_far_down_the_funnel_it_goes(api, tenant_key):
    # Given an offer scored by its learned propensity, shown to two customers
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]}).json()
    flow = {"key": "learned", "name": "L", "isDefault": True, "champion": {"scoringMethod": "propensity"}}
    post(api, tenant_key, "/api/v1/decision-flows", flow)

    def respond(interaction_id, outcome):
        body = {"interactionId": interaction_id, "offerId": offer["id"], "outcome": outcome}
        response = post(api, tenant_key, "/api/v1/respond", body)
        assert response.status == 200, response.body
        return response.json()

    # When the first showing is clicked, accepted and converted (and the convert retried), the second only seen
    first = post(api, tenant_key, "/api/v1/recommend", {"customerId": "u1"}).json()["interactionId"]
    second = post(api, tenant_key, "/api/v1/recommend", {"customerId": "u2"}).json()["interactionId"]
    for outcome in ("impression", "click", "accept", "convert"):
        assert respond(first, outcome)["recorded"] is True
    assert respond(first, "convert")["recorded"] is False
    respond(second, "impression")
    # Then the propensity is one positive in two showings, under the Beta(1, 9) prior
    cache.clear()
    explained = post(api, tenant_key, "/api/v1/recommend", {"customerId": "u9"}).json()["decisions"][0]
    assert (explained["scoreExplanation"]["positives"], explained["scoreExplanation"]["trials"]) == (1, 2)
    assert explained["scoreExplanation"]["finalScore"] == pytest.approx((1 + 1) / (2 + 1 + 9), abs=1e-6)


def test_the_1001st_recommend_of_a_tenant_in_a_window_is_429(api, tenant_key):
    # Given a fresh limiter, a clock pinned mid-window, and 1,000 decisions already counted for the tenant
    ratelimit.install_limiter()
    clock.set_clock(lambda: datetime(2026, 3, 1, 12, 0, 20, tzinfo=UTC))
    try:
        for _ in range(1000):
            assert ratelimit.decide(RateLimitClass.DECISIONS, {"authorization": f"Bearer {tenant_key}"}).allowed
        # When the tenant asks once more through the real handler
        refused = post(api, tenant_key, "/api/v1/recommend", SEED_BODY)
        # Then it is refused with the seed's 429, a detail and Retry-After
        assert refused.status == 429
        assert refused.json()["detail"] and int(refused.headers["retry-after"]) > 0
    finally:
        clock.set_clock(None)
        ratelimit.install_limiter()


def test_anonymous_customer_ids_are_stable_per_session_or_client(api, tenant_key):
    post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]})
    by_session = [post(api, tenant_key, "/api/v1/recommend", {"sessionId": "sess-abc-123"}).json() for _ in range(2)]
    assert by_session[0]["customerId"] == by_session[1]["customerId"] and by_session[0]["customerId"].startswith(
        "anon_"
    )
    explicit = post(
        api, tenant_key, "/api/v1/recommend", {"customerId": "anonymous", "sessionId": "sess-abc-123"}
    ).json()
    assert explicit["customerId"] == by_session[0]["customerId"]
    browser = {**headers(), "User-Agent": "Mozilla/5.0"}
    from_client = [api.post("/api/v1/recommend", key=tenant_key, json={}, headers=browser).json() for _ in range(2)]
    assert from_client[0]["customerId"] == from_client[1]["customerId"] != by_session[0]["customerId"]
    other_agent = api.post("/api/v1/recommend", key=tenant_key, json={}, headers={**headers(), "User-Agent": "curl"})
    assert other_agent.json()["customerId"] != from_client[0]["customerId"]
    via_get = api.get("/api/v1/recommend", key=tenant_key, headers=browser).json()
    assert via_get["customerId"] == from_client[0]["customerId"]


def test_flow_routing_scorecard_and_grouped_output(api, tenant_key):
    # Given two offers, a default flow and a routed flow for email that scores gold members up
    a = post(api, tenant_key, "/api/v1/offers", {"name": "A", "priority": 80, "creatives": [creative("a")]}).json()
    b = post(
        api,
        tenant_key,
        "/api/v1/offers",
        {
            "name": "B",
            "category": "Gold",
            "priority": 50,
            "creatives": [creative("b"), creative("b mail", channel="email")],
        },
    ).json()
    post(api, tenant_key, "/api/v1/decision-flows", {"key": "default-flow", "name": "D", "isDefault": True})
    scorecard = {
        "scoringMethod": "scorecard",
        "scorecard": [
            {
                "name": "gold tier",
                "condition": {"field": "tier", "operator": "equals", "value": "gold"},
                "points": 0.5,
                "appliesTo": {"categories": ["Gold"]},
            }
        ],
    }
    routed = post(
        api,
        tenant_key,
        "/api/v1/decision-flows",
        {"key": "web-gold", "name": "W", "champion": scorecard, "routing": {"segments": ["high_value"], "priority": 5}},
    )
    assert routed.status == 201, routed.body
    # When a high-value gold customer asks without a flow key
    body = post(api, tenant_key, "/api/v1/recommend", {**SEED_BODY, "debug": True}).json()
    # Then the routed scorecard flow answers and B's gold points put it first
    assert body["decisionFlowKey"] == "web-gold"
    assert [d["offerId"] for d in body["decisions"]] == [b["id"], a["id"]]
    explanation = body["debugTrace"]["featureContributions"][0]["explanation"]
    assert explanation["modelType"] == "scorecard" and explanation["totalScore"] == pytest.approx(1.0)
    assert {"feature": "tier", "rule": "gold tier", "value": 0.5} in explanation["contributions"]
    # Others fall back to the default flow
    assert post(api, tenant_key, "/api/v1/recommend", {"customerId": "x"}).json()["decisionFlowKey"] == "default-flow"
    # A grouped flow answers in the V2 grouped shape with meta
    post(api, tenant_key, "/api/v1/decision-flows", {"key": "grouped", "name": "G", "output": "grouped"})
    grouped = post(api, tenant_key, "/api/v1/recommend", {**SEED_BODY, "decisionFlowKey": "grouped"}).json()
    assert grouped["meta"] == {
        "decisionFlowKey": "grouped",
        "decisionFlowVersion": 1,
        "experimentVariant": "champion",
        "totalCandidates": 2,
    }
    assert grouped["placements"]["hero_banner"]["count"] == 2 and grouped["interactionId"]


def test_segments_compare_whatever_their_case_as_in_the_offers_api(api, tenant_key):
    # Given an offer for "High_Value" customers that excludes "VIP", and a flow routed to the "Gold" segment
    offer = post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]}).json()
    rules = [
        {"name": "hv", "type": "segment_required", "segments": ["High_Value"]},
        {"name": "no vip", "type": "segment_excluded", "segments": ["VIP"]},
    ]
    for rule in rules:
        assert post(api, tenant_key, "/api/v1/qualification-rules", rule).status == 201
    flow = {"key": "gold", "name": "Gold", "routing": {"segments": ["Gold"]}}
    assert post(api, tenant_key, "/api/v1/decision-flows", flow).status == 201
    recommend = {**SEED_BODY, "segments": ["high_value ", "gold"]}
    # When customers send the segments in another case
    served = post(api, tenant_key, "/api/v1/recommend", recommend).json()
    excluded = post(api, tenant_key, "/api/v1/recommend", {**recommend, "segments": ["HIGH_VALUE", "vip"]}).json()
    # Then the rules and the routing read them as the same segments
    assert [d["offerId"] for d in served["decisions"]] == [offer["id"]]
    assert served["decisionFlowKey"] == "gold"
    assert excluded["decisions"] == []


def test_holdout_customers_get_no_offers_and_are_logged(api, tenant_key):
    post(api, tenant_key, "/api/v1/offers", {"name": "A", "creatives": [creative("a")]})
    experiment = {"challenger": {"scoringMethod": "propensity"}, "challengerShare": 0.5, "holdoutShare": 0.5}
    post(api, tenant_key, "/api/v1/decision-flows", {"key": "exp", "name": "E", "experiment": experiment})
    seen = {}
    for n in range(40):
        body = post(api, tenant_key, "/api/v1/recommend", {"customerId": f"c{n}", "decisionFlowKey": "exp"}).json()
        seen.setdefault(body["experimentVariant"], []).append(body["count"])
    assert set(seen) == {"holdout", "challenger"}
    assert set(seen["holdout"]) == {0} and set(seen["challenger"]) == {1}
    # A debug trace has the same keys for a holdout customer as for any other, plus the holdout flag
    traces = {}
    for n in range(40):
        body = {"customerId": f"c{n}", "decisionFlowKey": "exp", "debug": True}
        answer = post(api, tenant_key, "/api/v1/recommend", body).json()
        traces.setdefault(answer["experimentVariant"], answer["debugTrace"])
    assert set(traces["holdout"]) == set(traces["challenger"]) | {"holdout"}


@pytest.mark.parametrize("score", ["9" * 400, "1e400", "NaN"], ids=["400-digit integer", "1e400", "NaN"])
def test_recommend_refuses_numbers_no_rule_can_compare(api, tenant_key, score):
    # Given a catalog with a range rule on a propensity score
    seed_catalog(api, tenant_key)
    rule = {
        "name": "Likely card takers",
        "type": "attribute",
        "condition": {"field": "propensityScores.credit_card", "operator": "range", "min": 0.5, "max": 1},
    }
    assert post(api, tenant_key, "/api/v1/qualification-rules", rule).status == 201

    # When a recommend sends a score outside the float range (a 400-digit integer crashed float() in the rule)
    body = '{"customerId": "CUST001", "attributes": {"propensityScores": {"credit_card": ' + score + "}}}"
    response = api.post("/api/v1/recommend", key=tenant_key, body=body, headers=headers())

    # Then it is refused as malformed by the decoder every other route uses
    assert response.status == 400, response.body
    assert response.json()["detail"] == (
        "Request body has a number outside the finite 64-bit float range (or NaN / Infinity)"
    )


def test_a_customers_history_keeps_the_newest_events_that_fit(api, tenant_key, monkeypatch):
    # Given an offer whose category and channel are long non-ASCII texts, and a small byte budget for the history
    # (the real one is 300 KB: 500 such events used to overflow the 400 KB item, and every later respond failed)
    monkeypatch.setattr(respond_logic, "HISTORY_MAX_BYTES", 8_000)
    offer = {"name": "Gift", "category": "🎁" * 100, "creatives": [creative("Gift", channel="🎮" * 100)]}
    assert post(api, tenant_key, "/api/v1/offers", offer).status == 201
    asked = {"customerId": "CUST042", "channel": "🎮" * 100, "placement": "hero_banner"}

    # When the customer responds to 20 decisions
    interactions = []
    for _ in range(20):
        decision = post(api, tenant_key, "/api/v1/recommend", asked).json()
        [served] = decision["decisions"]
        answer = {"interactionId": decision["interactionId"], "offerId": served["offerId"], "outcome": "impression"}
        response = post(api, tenant_key, "/api/v1/respond", answer)
        assert response.status == 200 and response.json()["recorded"], response.body
        interactions.append(decision["interactionId"])

    # Then every respond is recorded and the history keeps the newest events within its budget, stored unescaped
    events, _ = decisions_repository.get_history(TENANT, "CUST042")
    stored = decisions_repository.encode(events).encode()
    assert len(stored) <= 8_000
    assert 0 < len(events) < 20
    assert [event["i"] for event in events] == interactions[-len(events) :]
    assert "🎁".encode() in stored
