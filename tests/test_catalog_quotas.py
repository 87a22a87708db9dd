"""Catalog size caps (docs/decisions.md D9 and D13): at most MAX_OFFERS_PER_GAME offers per game (Offers API) and
MAX_PER_TENANT entities of each kind per tenant (Decisions API), held by a counter written in the same transaction
as each create and delete (arbiter/dynamo/quota.py), so concurrent creates never pass a cap.

The caps are lowered here (monkeypatch) so that a test makes a handful of requests, not hundreds: the management
routes are rate limited to 100 a minute per key.
"""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.auth import keys
from arbiter.decisions import cache as decisions_cache
from arbiter.decisions import catalog as decisions_catalog
from arbiter.decisions import repository as decisions_repository
from arbiter.decisions.models import CreativeInput, DecisionFlowInput, OfferInput, QualificationRuleInput
from arbiter.dynamo import quota, transactions
from arbiter.errors import ArbiterError, ConflictError
from arbiter.http import status_of
from arbiter.offers import catalog as offers_catalog
from arbiter.offers import repository as offers_repository
from arbiter.offers.models import CreateGameOfferInput
from arbiter.settings import get_settings
from tests.test_decisions_api import creative

GAME = "quota-game"
OFFERS_PATH = f"/v2/games/{GAME}/offers"
TENANT = "tenant-a"


@pytest.fixture(autouse=True)
def _fresh_caches():
    offers_catalog.forget_catalogs()
    decisions_cache.clear()
    yield
    offers_catalog.forget_catalogs()
    decisions_cache.clear()


def at_once(count: int, create: Callable[[int], object]) -> list[int]:
    """`create(n)` (a catalog logic call) for n in 0..count-1, each in its own thread, all released together; the
    HTTP status each would answer, in order. The logic, not the API client: the in-process router is not
    thread-safe (Lambda runs one request per instance at a time), and the race is in DynamoDB anyway."""
    answers: list[int] = [0] * count
    start = threading.Barrier(count)

    def worker(n: int) -> None:
        start.wait()
        try:
            create(n)
            answers[n] = 201
        except ArbiterError as error:
            answers[n] = status_of(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def stored_count(pk: str, sk: str, attribute: str) -> int:
    item = (
        aws.dynamodb_client()
        .get_item(TableName=get_settings().campaigns_table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True)
        .get("Item")
    )
    return quota.counted(item, attribute)


# --- Offers API: offers per game -----------------------------------------------------------------------------


def offer(offer_id: str) -> dict:
    return {"offer_id": offer_id, "name": f"Offer {offer_id}", "price_usd": 1.99}


def create_offer(api, key, offer_id, path=OFFERS_PATH):
    return api.post(path, json=offer(offer_id), headers={"X-API-Key": key})


def listed_offer_ids(api, key) -> list[str]:
    return [item["offer_id"] for item in api.get(OFFERS_PATH, headers={"X-API-Key": key}).json()["offers"]]


def game_offer_count() -> int:
    return stored_count(f"OFFERGAME#{GAME}", "GAME", "offer_count")


def cap_offers_per_game(monkeypatch, limit: int) -> None:
    # raising=False: the test runs (and fails on its answers) against a layer without the cap too
    monkeypatch.setattr(offers_repository, "MAX_OFFERS_PER_GAME", limit, raising=False)


def cap_per_tenant(monkeypatch, kind: str, limit: int) -> None:
    caps = {**getattr(decisions_repository, "MAX_PER_TENANT", {}), kind: limit}
    monkeypatch.setattr(decisions_repository, "MAX_PER_TENANT", caps, raising=False)


@pytest.fixture
def three_offers_per_game(monkeypatch):
    cap_offers_per_game(monkeypatch, 3)


def test_the_cap_per_game_is_the_documented_one():
    assert offers_repository.MAX_OFFERS_PER_GAME == 500


def test_a_game_at_its_cap_refuses_the_next_offer_with_422_and_writes_nothing(api, tenant_key, three_offers_per_game):
    # Given a game with as many offers as its cap allows
    for offer_id in ("a", "b", "c"):
        assert create_offer(api, tenant_key, offer_id).status == 201

    # When one more is created
    refused = create_offer(api, tenant_key, "d")

    # Then it is 422 naming the limit, and the catalog still has exactly the cap
    assert refused.status == 422, refused.body
    assert refused.json() == {"detail": "A game can have at most 3 offers; delete one first"}
    assert listed_offer_ids(api, tenant_key) == ["a", "b", "c"]
    assert api.get(f"{OFFERS_PATH}/d", headers={"X-API-Key": tenant_key}).status == 404
    assert game_offer_count() == 3


def test_deleting_an_offer_frees_a_slot_and_replacing_one_takes_none(api, tenant_key, three_offers_per_game):
    # Given a game at its cap
    for offer_id in ("a", "b", "c"):
        create_offer(api, tenant_key, offer_id)
    headers = {"X-API-Key": tenant_key}

    # When an offer is replaced (PUT), it takes no slot
    replaced = api.put(f"{OFFERS_PATH}/a", json={"name": "A again", "price_usd": 2.99}, headers=headers)
    assert replaced.status == 200, replaced.body
    assert game_offer_count() == 3
    assert create_offer(api, tenant_key, "d").status == 422

    # When one is deleted, the next create succeeds, and the one after is refused again
    assert api.delete(f"{OFFERS_PATH}/b", headers=headers).status == 204
    assert game_offer_count() == 2
    assert create_offer(api, tenant_key, "d").status == 201
    assert create_offer(api, tenant_key, "e").status == 422
    assert listed_offer_ids(api, tenant_key) == ["a", "c", "d"]
    assert game_offer_count() == 3


@pytest.mark.parametrize("full", [False, True], ids=["below the cap", "at the cap"])
def test_another_tenants_game_is_403_and_a_duplicate_id_is_409_at_the_cap_too(
    api, tenant_key, other_tenant_key, three_offers_per_game, full
):
    # Given a game of tenant A with 2 offers, or with 3 (its cap)
    for offer_id in ("a", "b", "c")[: 3 if full else 2]:
        assert create_offer(api, tenant_key, offer_id).status == 201

    # When tenant B creates an offer in it, and tenant A creates one with an existing id
    foreign = create_offer(api, other_tenant_key, "stolen")
    duplicate = create_offer(api, tenant_key, "a")

    # Then the answers are those of ownership and of the duplicate, not of the cap, and nothing changed
    assert foreign.status == 403, foreign.body
    assert foreign.json()["detail"] == f"Game '{GAME}' belongs to another tenant"
    assert duplicate.status == 409, duplicate.body
    assert duplicate.json()["detail"] == f"Offer 'a' already exists in game '{GAME}'"
    assert game_offer_count() == (3 if full else 2)
    assert listed_offer_ids(api, tenant_key) == ["a", "b", "c"][: 3 if full else 2]


def test_the_cap_is_per_game(api, tenant_key, three_offers_per_game):
    for offer_id in ("a", "b", "c"):
        create_offer(api, tenant_key, offer_id)
    # A second game of the same tenant has slots of its own
    assert create_offer(api, tenant_key, "a", path="/v2/games/other-game/offers").status == 201


def test_concurrent_creates_on_a_game_end_at_exactly_its_cap(api, tenant_key, monkeypatch, atomic_requests):
    # Given a game capped at 5 that has 2 offers: 3 slots left
    cap_offers_per_game(monkeypatch, 5)
    for offer_id in ("a", "b"):
        assert create_offer(api, tenant_key, offer_id).status == 201

    # When 8 requests create 8 different offers at once
    principal = keys.verify_key(tenant_key)
    answers = at_once(
        8,
        lambda n: offers_catalog.create_offer(principal, GAME, CreateGameOfferInput.model_validate(offer(f"race_{n}"))),
    )

    # Then exactly 3 are created and the other 5 are refused with the limit: the catalog holds exactly 5
    assert Counter(answers) == {201: 3, 422: 5}
    assert len(listed_offer_ids(api, tenant_key)) == 5
    assert game_offer_count() == 5


def test_the_claim_is_read_when_a_refusal_does_not_carry_it(api, tenant_key, other_tenant_key, monkeypatch):
    # Given a game of tenant A, and a DynamoDB reply that names the failed condition only in its message
    create_offer(api, tenant_key, "a")
    client = aws.dynamodb_client()
    original = client.transact_write_items

    def message_only(**kwargs):
        try:
            return original(**kwargs)
        except ClientError as error:
            error.response.pop("CancellationReasons", None)
            raise

    monkeypatch.setattr(client, "transact_write_items", message_only)

    # When tenant B creates an offer in it
    foreign = create_offer(api, other_tenant_key, "stolen")

    # Then the claim is read to tell ownership from the cap: still 403
    assert foreign.status == 403, foreign.body


# --- Decisions API: entities per tenant ------------------------------------------------------------------------


def decisions_post(api, key, path, body, tenant=TENANT):
    return api.post(path, key=key, json=body, headers={"X-Tenant-Id": tenant})


def decisions_delete(api, key, path, tenant=TENANT):
    return api.delete(path, key=key, headers={"X-Tenant-Id": tenant})


def decisions_list(api, key, path, field, tenant=TENANT) -> list[dict]:
    response = api.get(path, key=key, headers={"X-Tenant-Id": tenant})
    assert response.status == 200, response.body
    return response.json()[field]


def tenant_count(kind: str, tenant: str = TENANT) -> int:
    return stored_count(f"DCATQUOTA#{tenant}", kind, quota.COUNT_ATTRIBUTE)


CREATIVE = creative("Hero")
# (kind, collection path, list field, plural in the 422, a body numbered n)
KINDS = [
    ("OFFER", "/api/v1/offers", "offers", "offers", lambda n: {"name": f"Offer {n}", "creatives": [CREATIVE]}),
    (
        "RULE",
        "/api/v1/qualification-rules",
        "rules",
        "qualification rules",
        lambda n: {"name": f"Rule {n}", "type": "segment_required", "segments": [f"s{n}"]},
    ),
    (
        "POLICY",
        "/api/v1/contact-policies",
        "policies",
        "contact policies",
        lambda n: {"name": f"Policy {n}", "type": "global_cap", "maxCount": 5},
    ),
    (
        "GUARDRAIL",
        "/api/v1/guardrails",
        "guardrails",
        "guardrails",
        lambda n: {"name": f"Floor {n}", "type": "min_score", "minScore": 0.01},
    ),
]


def test_the_caps_per_tenant_are_the_documented_ones():
    assert decisions_repository.MAX_PER_TENANT == {
        "OFFER": 1_000,
        "RULE": 100,
        "POLICY": 100,
        "GUARDRAIL": 100,
        "FLOW": 100,
    }


@pytest.mark.parametrize(("kind", "path", "field", "plural", "body"), KINDS, ids=[k[0] for k in KINDS])
def test_a_tenant_at_its_cap_of_a_kind_gets_422_until_it_deletes_one(
    api, tenant_key, other_tenant_key, monkeypatch, kind, path, field, plural, body
):
    # Given a tenant with as many entities of the kind as its cap (lowered to 2) allows
    cap_per_tenant(monkeypatch, kind, 2)
    created = [decisions_post(api, tenant_key, path, body(n)) for n in range(2)]
    assert [response.status for response in created] == [201, 201], [r.body for r in created]
    ids = [response.json()["id"] for response in created]

    # When one more is created
    refused = decisions_post(api, tenant_key, path, body(2))

    # Then it is 422 naming the limit, and nothing was written
    assert refused.status == 422, refused.body
    assert refused.json() == {"detail": f"A tenant can have at most 2 {plural}; delete one first"}
    assert sorted(entity["id"] for entity in decisions_list(api, tenant_key, path, field)) == sorted(ids)
    assert tenant_count(kind) == 2

    # And another tenant's cap is its own; deleting another tenant's entity is 403 and frees nothing
    assert decisions_post(api, other_tenant_key, path, body(0), tenant="tenant-b").status == 201
    foreign = decisions_delete(api, other_tenant_key, f"{path}/{ids[0]}", tenant="tenant-b")
    assert foreign.status == 403, foreign.body
    assert tenant_count(kind) == 2

    # When one is deleted, the next create succeeds and the one after is refused again
    assert decisions_delete(api, tenant_key, f"{path}/{ids[0]}").status == 204
    assert tenant_count(kind) == 1
    assert decisions_delete(api, tenant_key, f"{path}/{ids[0]}").status == 404  # a repeated delete frees nothing
    assert tenant_count(kind) == 1
    assert decisions_post(api, tenant_key, path, body(3)).status == 201
    assert decisions_post(api, tenant_key, path, body(4)).status == 422
    assert len(decisions_list(api, tenant_key, path, field)) == 2
    assert tenant_count(kind) == 2


def test_replacing_an_offer_or_editing_its_creatives_takes_no_slot(api, tenant_key, monkeypatch):
    # Given a tenant at its offer cap (lowered to 1)
    cap_per_tenant(monkeypatch, "OFFER", 1)
    offer_id = decisions_post(api, tenant_key, "/api/v1/offers", {"name": "Card", "creatives": [CREATIVE]}).json()["id"]
    headers = {"X-Tenant-Id": TENANT}

    # When the offer is replaced and gets a creative
    replaced = api.put(f"/api/v1/offers/{offer_id}", key=tenant_key, json={"name": "Card 2"}, headers=headers)
    added = decisions_post(api, tenant_key, f"/api/v1/offers/{offer_id}/creatives", {**CREATIVE, "name": "Side"})

    # Then both succeed and the count is unchanged
    assert (replaced.status, added.status) == (200, 201), (replaced.body, added.body)
    assert tenant_count("OFFER") == 1
    assert decisions_post(api, tenant_key, "/api/v1/offers", {"name": "Another"}).status == 422


def publish(api, key, flow_key):
    return decisions_post(api, key, "/api/v1/decision-flows", {"key": flow_key, "name": flow_key.title()})


def test_a_new_version_of_a_flow_key_is_not_a_new_flow(api, tenant_key, monkeypatch):
    # Given a tenant capped at 2 decision flows, with flows "a" and "b"
    cap_per_tenant(monkeypatch, "FLOW", 2)
    assert [publish(api, tenant_key, key).status for key in ("a", "b")] == [201, 201]

    # When "a" is published again, it is version 2 of a counted flow: no slot taken
    again = publish(api, tenant_key, "a")
    assert again.status == 201, again.body
    assert again.json()["version"] == 2
    assert tenant_count("FLOW") == 2

    # Then a third key is refused with the limit
    refused = publish(api, tenant_key, "c")
    assert refused.status == 422, refused.body
    assert refused.json() == {"detail": "A tenant can have at most 2 decision flows; delete one first"}
    assert api.get("/api/v1/decision-flows/c", key=tenant_key, headers={"X-Tenant-Id": TENANT}).status == 404

    # When "b" is deleted its slot is free for "c"; publishing the deleted "b" again counts as a flow again
    assert decisions_delete(api, tenant_key, "/api/v1/decision-flows/b").status == 204
    assert tenant_count("FLOW") == 1
    assert publish(api, tenant_key, "c").status == 201
    assert publish(api, tenant_key, "b").status == 422
    assert decisions_delete(api, tenant_key, "/api/v1/decision-flows/a").status == 204
    republished = publish(api, tenant_key, "b")
    assert republished.status == 201, republished.body
    assert republished.json()["version"] == 2  # the key's sequence continues after its delete
    assert sorted(flow["key"] for flow in decisions_list(api, tenant_key, "/api/v1/decision-flows", "flows")) == [
        "b",
        "c",
    ]
    assert tenant_count("FLOW") == 2


def test_a_publish_racing_a_delete_of_its_flow_is_409_and_the_count_stays_exact(api, tenant_key):
    # Given flow "a", read as live by a publisher of its next version
    publish(api, tenant_key, "a")
    read = decisions_repository.get_flow(TENANT, "a")
    # When the flow is deleted before that publisher writes
    assert decisions_delete(api, tenant_key, "/api/v1/decision-flows/a").status == 204
    body = {"key": "a", "name": "A", "version": read.version + 1, "created_at": "2026-01-01T00:00:00Z"}
    with pytest.raises(decisions_repository.ConflictError):
        decisions_repository.publish_flow(TENANT, "a", body, read)
    # Then the version it read as live does not revive the flow uncounted
    assert decisions_repository.get_flow(TENANT, "a").body is None
    assert tenant_count("FLOW") == 0


@pytest.mark.parametrize("kind", ["RULE", "FLOW"])
def test_concurrent_creates_of_a_tenant_end_at_exactly_its_cap(api, tenant_key, monkeypatch, atomic_requests, kind):
    # Given a tenant capped at 4 rules (or flows) that has 1: 3 slots left
    cap_per_tenant(monkeypatch, kind, 4)
    principal = keys.verify_key(tenant_key)
    if kind == "RULE":
        path, field = "/api/v1/qualification-rules", "rules"

        def create(n):
            body = {"name": f"Rule {n}", "type": "segment_required", "segments": [f"s{n}"]}
            decisions_catalog.create_rule(principal, QualificationRuleInput.model_validate(body))
    else:
        path, field = "/api/v1/decision-flows", "flows"

        def create(n):
            decisions_catalog.publish_flow(
                principal, DecisionFlowInput.model_validate({"key": f"flow-{n}", "name": "F"})
            )

    create(99)

    # When 8 requests create 8 different ones at once
    answers = at_once(8, create)

    # Then exactly 3 are created and 5 refused with the limit
    assert Counter(answers) == {201: 3, 422: 5}
    assert len(decisions_list(api, tenant_key, path, field)) == 4
    assert tenant_count(kind) == 4


# --- Decisions API: bytes of offers per tenant -----------------------------------------------------------------

OFFERS = "/api/v1/offers"


def budget_offer_bytes(monkeypatch, budget: int) -> None:
    # raising=False: the test runs (and fails on its answers) against a layer without the budget too
    monkeypatch.setattr(decisions_repository, "MAX_OFFER_BYTES_PER_TENANT", budget, raising=False)


def tenant_bytes(tenant: str = TENANT) -> int:
    return stored_count(f"DCATQUOTA#{tenant}", "OFFER", "bytes")


def stored_offer_bytes(offer_ids) -> int:
    """The UTF-8 bytes of the offers' stored bodies, read from their items."""
    table = aws.campaigns_table()
    items = [
        table.get_item(Key={"PK": f"DCAT#{offer_id}", "SK": "OFFER"}, ConsistentRead=True) for offer_id in offer_ids
    ]
    return sum(len(item["Item"]["body"].encode()) for item in items if "Item" in item)


def budget_detail(budget: int) -> dict:
    return {
        "detail": f"A tenant's offers can store at most {budget:,} bytes of JSON (creatives included); "
        "delete or shrink an offer first"
    }


def big_creative(size: int) -> dict:
    return {**CREATIVE, "name": "Big", "content": {"body": "é" * (size // 2)}}  # 2 bytes a character


def test_the_offer_bytes_budget_is_the_documented_one():
    assert decisions_repository.MAX_OFFER_BYTES_PER_TENANT == 10_000_000


def test_offer_writes_past_the_tenant_bytes_budget_get_422_and_write_nothing(api, tenant_key, monkeypatch):
    # Given a tenant with a small offer, under a budget of 6,000 bytes of stored JSON
    budget_offer_bytes(monkeypatch, 6_000)
    headers = {"X-Tenant-Id": TENANT}
    created = decisions_post(api, tenant_key, OFFERS, {"name": "Card", "creatives": [CREATIVE]})
    assert created.status == 201, created.body
    offer_id = created.json()["id"]
    used = tenant_bytes()
    assert used == stored_offer_bytes([offer_id]) > 0
    before = api.get(f"{OFFERS}/{offer_id}", key=tenant_key, headers=headers).json()

    # When an offer is created, a creative added and the offer replaced, each growing the total past the budget
    create = decisions_post(api, tenant_key, OFFERS, {"name": "Big", "creatives": [big_creative(6_000)]})
    add = decisions_post(api, tenant_key, f"{OFFERS}/{offer_id}/creatives", big_creative(6_000))
    put = api.put(
        f"{OFFERS}/{offer_id}",
        key=tenant_key,
        json={"name": "Card", "creatives": [big_creative(6_000)]},
        headers=headers,
    )

    # Then each is 422 naming the budget, and nothing was written
    for refused in (create, add, put):
        assert refused.status == 422, refused.body
        assert refused.json() == budget_detail(6_000)
    assert [offer["id"] for offer in decisions_list(api, tenant_key, OFFERS, "offers")] == [offer_id]
    assert api.get(f"{OFFERS}/{offer_id}", key=tenant_key, headers=headers).json() == before
    assert tenant_bytes() == used
    assert tenant_count("OFFER") == 1

    # And growth within the budget passes, counted exactly
    added = decisions_post(api, tenant_key, f"{OFFERS}/{offer_id}/creatives", big_creative(2_000))
    assert added.status == 201, added.body
    assert tenant_bytes() == stored_offer_bytes([offer_id]) > used


def test_deletes_free_their_bytes_and_a_shrinking_put_is_always_accepted(api, tenant_key, monkeypatch):
    # Given a tenant with two offers with large creatives
    headers = {"X-Tenant-Id": TENANT}
    first = decisions_post(api, tenant_key, OFFERS, {"name": "A", "creatives": [big_creative(3_000), CREATIVE]})
    second = decisions_post(api, tenant_key, OFFERS, {"name": "B", "creatives": [big_creative(3_000)]})
    ids = [first.json()["id"], second.json()["id"]]
    assert tenant_bytes() == stored_offer_bytes(ids)

    # When the budget is lowered below what they store, a PUT that shrinks an offer is still accepted
    budget_offer_bytes(monkeypatch, 100)
    shrunk = api.put(f"{OFFERS}/{ids[1]}", key=tenant_key, json={"name": "B", "creatives": []}, headers=headers)
    assert shrunk.status == 200, shrunk.body
    assert tenant_bytes() == stored_offer_bytes(ids)

    # And deleting a creative frees its bytes
    big_id = next(c["id"] for c in first.json()["creatives"] if c["name"] == "Big")
    assert decisions_delete(api, tenant_key, f"{OFFERS}/{ids[0]}/creatives/{big_id}").status == 204
    assert tenant_bytes() == stored_offer_bytes(ids)

    # And deleting the offers frees all of them; a repeated delete frees nothing
    for offer_id in ids:
        assert decisions_delete(api, tenant_key, f"{OFFERS}/{offer_id}").status == 204
    assert decisions_delete(api, tenant_key, f"{OFFERS}/{ids[0]}").status == 404
    assert tenant_bytes() == 0
    assert tenant_count("OFFER") == 0


def test_a_delete_racing_a_growth_of_its_offer_frees_the_bytes_stored(api, tenant_key):
    # Given an offer read by a deleter, then grown by a creative before the delete is sent
    offer_id = decisions_post(api, tenant_key, OFFERS, {"name": "A", "creatives": [CREATIVE]}).json()["id"]
    read = decisions_repository.get_entity("OFFER", TENANT, offer_id, "Offer")
    original = decisions_repository.get_entity
    calls = []

    def racing(*args):
        if not calls:
            calls.append(1)
            assert decisions_post(api, tenant_key, f"{OFFERS}/{offer_id}/creatives", big_creative(2_000)).status == 201
            return read
        return original(*args)

    # When the delete sends the size it read first
    import unittest.mock

    with unittest.mock.patch.object(decisions_repository, "get_entity", racing):
        decisions_repository.delete_entity("OFFER", TENANT, offer_id, "Offer")

    # Then it is sent again with the stored size: the total is exactly 0
    assert tenant_bytes() == 0
    assert tenant_count("OFFER") == 0


def test_concurrent_growth_never_passes_the_tenant_bytes_budget(api, tenant_key, monkeypatch, atomic_requests):
    # Given a tenant with one offer of S stored bytes, under a budget of 4 S: room for exactly 3 more alike
    principal = keys.verify_key(tenant_key)
    body = {"name": "Offer", "creatives": [big_creative(3_000)]}
    decisions_catalog.create_offer(principal, OfferInput.model_validate(body))
    size = tenant_bytes()
    budget_offer_bytes(monkeypatch, 4 * size + size // 2)

    # When 8 requests create 8 offers alike at once
    answers = at_once(8, lambda n: decisions_catalog.create_offer(principal, OfferInput.model_validate(body)))

    # Then exactly 3 are created, 5 refused with the budget, and the total is exactly what is stored
    assert Counter(answers) == {201: 3, 422: 5}
    offers = decisions_list(api, tenant_key, OFFERS, "offers")
    assert len(offers) == 4
    assert tenant_bytes() == stored_offer_bytes([offer["id"] for offer in offers]) <= 4 * size + size // 2

    # And creatives added to different offers at once stop at the budget too
    ids = [offer["id"] for offer in offers]
    creative_input = CreativeInput.model_validate(big_creative(3_000))
    budget_offer_bytes(monkeypatch, 10_000_000)
    before = tenant_bytes()
    decisions_catalog.add_creative(principal, ids[0], creative_input)
    grown = tenant_bytes() - before  # one creative's bytes (ids and times have fixed lengths)
    budget_offer_bytes(monkeypatch, tenant_bytes() + 2 * grown + grown // 2)
    answers = at_once(4, lambda n: decisions_catalog.add_creative(principal, ids[n], creative_input))
    assert Counter(answers) == {201: 2, 422: 2}
    assert tenant_bytes() == stored_offer_bytes(ids)


# --- The mechanism ---------------------------------------------------------------------------------------------


def test_a_transaction_cancelled_only_by_a_conflict_is_sent_again(monkeypatch):
    # Given a client whose first two transactions are cancelled by a concurrent transaction on one item
    conflict = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )
    sent: list[list] = []

    class Client:
        def transact_write_items(self, TransactItems):
            sent.append(TransactItems)
            if len(sent) < transactions.TRANSACT_ATTEMPTS:
                raise conflict

    monkeypatch.setattr(aws, "dynamodb_client", lambda: Client())
    monkeypatch.setattr(transactions.time, "sleep", lambda seconds: None)

    # When a counted write is sent, it is sent again until it passes
    transactions.transact([("a", {"Update": {}})], contended="busy")
    assert len(sent) == transactions.TRANSACT_ATTEMPTS

    # And a refusal by a condition is not sent again: it names the item whose condition failed
    refused = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "TransactionConflict"}],
        },
        "TransactWriteItems",
    )
    sent.clear()

    class Refusing:
        def transact_write_items(self, TransactItems):
            sent.append(TransactItems)
            raise refused

    monkeypatch.setattr(aws, "dynamodb_client", lambda: Refusing())
    with pytest.raises(transactions.ConditionsFailed) as failed:
        transactions.transact([("a", {"Update": {}}), ("b", {"Update": {}})], contended="busy")
    assert len(sent) == 1
    assert (failed.value.failed, failed.value.contended) == ({"a"}, True)

    # And conflicts through every attempt are a 409 with the caller's detail
    sent.clear()

    class Busy:
        def transact_write_items(self, TransactItems):
            sent.append(TransactItems)
            raise conflict

    monkeypatch.setattr(aws, "dynamodb_client", lambda: Busy())
    with pytest.raises(ConflictError) as busy:
        transactions.transact([("a", {"Update": {}}), ("b", {"Update": {}})], contended="busy")
    assert busy.value.detail == "busy"
    assert len(sent) == transactions.TRANSACT_ATTEMPTS


def test_the_counter_joins_an_update_of_its_own():
    update = {
        "TableName": "t",
        "Key": {"PK": {"S": "p"}},
        "UpdateExpression": "SET a = :a",
        "ConditionExpression": "attribute_not_exists(PK) OR a = :a",
        "ExpressionAttributeValues": {":a": {"S": "x"}},
    }
    taking = quota.taking_slot(update, 7, "n")
    assert taking["UpdateExpression"] == "SET a = :a ADD #quota_count :quota_delta"
    assert taking["ConditionExpression"] == (
        "(attribute_not_exists(PK) OR a = :a) AND (attribute_not_exists(#quota_count) OR #quota_count < :quota_limit)"
    )
    assert taking["ExpressionAttributeNames"] == {"#quota_count": "n"}
    assert taking["ExpressionAttributeValues"] == {
        ":a": {"S": "x"},
        ":quota_delta": {"N": "1"},
        ":quota_limit": {"N": "7"},
    }
    freeing = quota.freeing_slot({"TableName": "t", "Key": {"PK": {"S": "p"}}}, "n")
    assert freeing["UpdateExpression"] == "ADD #quota_count :quota_delta"
    assert "ConditionExpression" not in freeing
    assert freeing["ExpressionAttributeValues"] == {":quota_delta": {"N": "-1"}}
    with pytest.raises(ValueError):
        quota.taking_slot({**update, "UpdateExpression": "ADD b :one"}, 7)


def test_a_total_joins_the_counter_and_is_conditioned_only_when_it_grows():
    counter = {"TableName": "t", "Key": {"PK": {"S": "p"}}}
    taking = quota.taking_slot(counter, 7, "n", measure=quota.Measure(30, 100))
    assert taking["UpdateExpression"] == "ADD #quota_measure :quota_measure_delta, #quota_count :quota_delta"
    assert taking["ConditionExpression"] == (
        "(attribute_not_exists(#quota_count) OR #quota_count < :quota_limit)"
        " AND (attribute_not_exists(#quota_measure) OR #quota_measure <= :quota_room)"
    )
    assert taking["ExpressionAttributeValues"][":quota_room"] == {"N": "70"}
    freeing = quota.freeing_slot(counter, "n", measure=quota.Measure(-30, 100))
    assert "ConditionExpression" not in freeing
    assert freeing["ExpressionAttributeValues"][":quota_measure_delta"] == {"N": "-30"}
    past = quota.measuring(counter, quota.Measure(130, 100))  # past the whole budget: refused even on a missing total
    assert past["UpdateExpression"] == "ADD #quota_measure :quota_measure_delta"
    assert past["ConditionExpression"] == "#quota_measure <= :quota_room"
    assert "ConditionExpression" not in quota.measuring(counter, quota.Measure(-5, 100))
