"""Game offers API (seed 000): the game offer catalog, POST /v2/recommend and POST /v1/feedback."""

import random
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.auth.models import Principal
from arbiter.learning import model, store
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW
from arbiter.learning.features import OfferFeatures, context_features, pair_features, segment_feature
from arbiter.offers import catalog as offers_catalog
from arbiter.offers import feedback as offers_feedback
from arbiter.offers import recommend as offers_recommend
from arbiter.offers import repository as offers_repository
from arbiter.offers.models import CreateGameOfferInput, FeedbackInput, GameOfferItem
from arbiter.settings import get_settings

GAME = "ool-mmo"
PLAYER = "player_8a2f"
OFFERS_PATH = f"/v2/games/{GAME}/offers"

# The seed's recommend example, verbatim.
SEED_RECOMMEND = {
    "game_id": GAME,
    "player_id": PLAYER,
    "session_context": {"level": 34, "minutes_played": 18, "segment": "mid-spender"},
    "inventory_gaps": ["legendary_sword", "health_pack"],
    "max_results": 3,
}
# The seed's feedback example, verbatim.
SEED_FEEDBACK = {
    "game_id": GAME,
    "player_id": PLAYER,
    "offer_id": "summer_blade_bundle",
    "outcome": "converted",
    "revenue_usd": 9.99,
}

SEED_OFFERS = [
    {
        "offer_id": "summer_blade_bundle",
        "name": "Summer Blade Bundle",
        "price_usd": 9.99,
        "grants": ["legendary_sword", "weapons"],
        "eligibility": {"segments": ["mid-spender", "whale"], "min_level": 20},
        "limits": {"max_purchases": 1, "max_impressions_per_day": 5},
    },
    {
        "offer_id": "health_pack_10x",
        "name": "10 Health Packs",
        "price_usd": 2.99,
        "grants": ["health_pack", "consumables"],
    },
    {
        "offer_id": "gold_starter_500",
        "name": "500 Gold Starter",
        "price_usd": 4.99,
        "grants": ["gold"],
        "eligibility": {"max_level": 60},
    },
]


@pytest.fixture(autouse=True)
def _fresh_caches():
    store.forget_models()
    offers_catalog.forget_catalogs()
    yield
    store.forget_models()
    offers_catalog.forget_catalogs()


def key_header(key: str | None) -> dict[str, str]:
    return {"X-API-Key": key} if key else {}


def post(api, key, path, body):
    return api.post(path, json=body, headers=key_header(key))


def create_seed_offers(api, key):
    for offer in SEED_OFFERS:
        response = post(api, key, OFFERS_PATH, offer)
        assert response.status == 201, response.body


def recommend(api, key, **changes):
    return post(api, key, "/v2/recommend", {**SEED_RECOMMEND, **changes})


def model_items(dynamodb, game=GAME) -> list[dict]:
    from arbiter.settings import get_settings

    return dynamodb.query(
        TableName=get_settings().interactions_table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OFFERMODEL#{game}"}},
    )["Items"]


# --- The seed's two cURL examples -------------------------------------------------------------------------


def test_seed_examples_work_after_the_game_and_offers_are_created(api, tenant_key):
    # Given the seed's game and three offers created through the catalog API
    create_seed_offers(api, tenant_key)

    # When the seed's recommend request is sent
    response = recommend(api, tenant_key)

    # Then it answers the seed's bare array: offer_id, score in 0..1, ranks 1..n, and an interaction id header
    assert response.status == 200, response.body
    ranked = response.json()
    assert isinstance(ranked, list) and len(ranked) == 3
    assert [entry["rank"] for entry in ranked] == [1, 2, 3]
    assert {entry["offer_id"] for entry in ranked} == {"summer_blade_bundle", "health_pack_10x", "gold_starter_500"}
    assert all(set(entry) == {"offer_id", "score", "rank"} and 0 <= entry["score"] <= 1 for entry in ranked)
    assert response.headers["x-interaction-id"].startswith("oint_")

    # When the seed's feedback request is sent for the recommended bundle
    feedback = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # Then it answers exactly {"status": "ok"}, matched to that recommendation
    assert feedback.status == 200, feedback.body
    assert feedback.json() == {"status": "ok"}
    assert feedback.headers["x-feedback-matched"] == "true"
    assert feedback.headers["x-feedback-status"] == "applied"
    assert feedback.headers["x-interaction-id"] == response.headers["x-interaction-id"]


def test_max_results_defaults_to_five_and_caps_the_array(api, tenant_key):
    for index in range(7):
        offer = {"offer_id": f"gem_pack_{index}", "name": f"Gems {index}", "price_usd": 0.99 + index}
        assert post(api, tenant_key, OFFERS_PATH, offer).status == 201
    body = {key: value for key, value in SEED_RECOMMEND.items() if key != "max_results"}

    default = post(api, tenant_key, "/v2/recommend", body)
    one = recommend(api, tenant_key, max_results=1)

    assert [entry["rank"] for entry in default.json()] == [1, 2, 3, 4, 5]
    assert len(one.json()) == 1 and one.json()[0]["rank"] == 1


# --- Feedback ----------------------------------------------------------------------------------------------


def test_retried_feedback_changes_the_model_once(api, tenant_key, dynamodb):
    # Given a recommendation and one converted report for the bundle
    create_seed_offers(api, tenant_key)
    assert recommend(api, tenant_key).status == 200
    first = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)
    after_first = model_items(dynamodb)

    # When the same report is retried
    retry = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # Then both answer ok, the retry is flagged a duplicate, and the model items did not move
    assert first.headers["x-feedback-status"] == "applied"
    assert retry.status == 200 and retry.json() == {"status": "ok"}
    assert retry.headers["x-feedback-status"] == "duplicate"
    assert retry.headers["x-feedback-matched"] == "true"
    assert after_first and model_items(dynamodb) == after_first
    assert sum(int(item["updates"]["N"]) for item in after_first if item["SK"]["S"] == "S") == 1


def test_a_conversion_counts_toward_the_purchase_limit(api, tenant_key):
    # Given the bundle (at most one purchase per player) was bought once
    create_seed_offers(api, tenant_key)
    recommend(api, tenant_key)
    post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # When the player asks again
    again = recommend(api, tenant_key, max_results=10)

    # Then the bundle is no longer eligible for them, but is for another player
    assert "summer_blade_bundle" not in [entry["offer_id"] for entry in again.json()]
    other = recommend(api, tenant_key, player_id="player_other", max_results=10)
    assert "summer_blade_bundle" in [entry["offer_id"] for entry in other.json()]


def purchases(game=GAME, player=PLAYER) -> dict[str, int]:
    return offers_repository.player_purchases(game, player)


def test_a_purchase_after_a_dismissal_counts_toward_the_purchase_limit(api, tenant_key):
    # Given the bundle (at most one purchase per player) shown and dismissed
    create_seed_offers(api, tenant_key)
    recommend(api, tenant_key)
    dismissal = {key: value for key, value in SEED_FEEDBACK.items() if key != "revenue_usd"}
    dismissed = post(api, tenant_key, "/v1/feedback", {**dismissal, "outcome": "dismissed"})
    assert dismissed.headers["x-feedback-status"] == "applied"
    # When the player buys it after all
    bought = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)
    # Then the purchase is applied and counted, once, and the bundle is no longer offered to them
    assert bought.headers["x-feedback-status"] == "applied"
    assert post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK).headers["x-feedback-status"] == "duplicate"
    assert purchases() == {"summer_blade_bundle": 1}
    assert "summer_blade_bundle" not in [entry["offer_id"] for entry in recommend(api, tenant_key).json()]


def test_a_retry_naming_its_interaction_counts_once_after_the_offer_is_shown_again(api, tenant_key):
    # Given health packs (no purchase limit) shown to the player and bought, reported with the interaction id
    create_seed_offers(api, tenant_key)
    request = {"max_results": 10}
    first = recommend(api, tenant_key, **request)
    interaction = first.headers["x-interaction-id"]
    report = {**SEED_FEEDBACK, "offer_id": "health_pack_10x", "revenue_usd": 2.99, "interaction_id": interaction}
    assert post(api, tenant_key, "/v1/feedback", report).headers["x-feedback-status"] == "applied"
    # When the offer is shown again and the first report is retried
    assert "health_pack_10x" in [entry["offer_id"] for entry in recommend(api, tenant_key, **request).json()]
    retry = post(api, tenant_key, "/v1/feedback", report)
    # Then the retry is a duplicate of the first showing's report: one purchase, one model update
    assert retry.headers["x-feedback-status"] == "duplicate"
    assert retry.headers["x-interaction-id"] == interaction
    assert purchases() == {"health_pack_10x": 1}


def test_feedback_for_an_offer_never_recommended_is_accepted_and_flagged(api, tenant_key, dynamodb):
    create_seed_offers(api, tenant_key)

    never_shown = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)
    dismissal = {key: value for key, value in SEED_FEEDBACK.items() if key != "revenue_usd"}
    unknown_offer = post(
        api, tenant_key, "/v1/feedback", {**dismissal, "offer_id": "no_such_offer", "outcome": "dismissed"}
    )

    for response in (never_shown, unknown_offer):
        assert response.status == 200 and response.json() == {"status": "ok"}
        assert response.headers["x-feedback-matched"] == "false"
        assert response.headers["x-feedback-status"] == "unmatched"
    assert model_items(dynamodb) == []


# --- Unmatched conversions: counted toward the purchase limit, never learned from ---------------------------


def purchases_item(dynamodb, game=GAME, player=PLAYER) -> dict:
    key = {"PK": {"S": f"OFFERBUYS#{game}#{player}"}, "SK": {"S": "COUNTS"}}
    return dynamodb.get_item(TableName=get_settings().interactions_table, Key=key).get("Item", {})


def recommended(api, key, **changes) -> list[str]:
    response = recommend(api, key, max_results=10, **changes)
    assert response.status == 200, response.body
    return [entry["offer_id"] for entry in response.json()]


def test_a_conversion_of_an_offer_never_recommended_counts_toward_its_limit_and_not_the_model(
    api, tenant_key, dynamodb
):
    # Given the bundle (at most one purchase per player) and a model that has learnt from another player
    create_seed_offers(api, tenant_key)
    assert "health_pack_10x" in recommended(api, tenant_key, player_id="player_other")
    learnt = {**SEED_FEEDBACK, "player_id": "player_other", "offer_id": "health_pack_10x", "revenue_usd": 2.99}
    assert post(api, tenant_key, "/v1/feedback", learnt).headers["x-feedback-status"] == "applied"
    model_before = model_items(dynamodb)
    assert model_before
    # And a player who was never shown the bundle

    # When the game reports that the player bought it (in the shop, say)
    response = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # Then it is accepted and flagged as before
    assert response.status == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-feedback-matched"] == "false"
    assert response.headers["x-feedback-status"] == "unmatched"
    assert "x-interaction-id" not in response.headers
    # And the model did not change
    assert model_items(dynamodb) == model_before
    # And the purchase is counted with its revenue, so the bundle is no longer recommended to that player
    assert purchases() == {"summer_blade_bundle": 1}
    assert int(purchases_item(dynamodb)["revenue_millicents"]["N"]) == 999_000
    assert "summer_blade_bundle" not in recommended(api, tenant_key)
    # But still is to a player who has not bought it
    assert "summer_blade_bundle" in recommended(api, tenant_key, player_id="player_third")


def test_a_retried_unmatched_conversion_counts_once(api, tenant_key, dynamodb):
    # Given the bundle allowing two purchases per player, never shown to the player
    create_seed_offers(api, tenant_key)
    bundle = {key: value for key, value in SEED_OFFERS[0].items() if key != "offer_id"}
    twice = {**bundle, "limits": {"max_purchases": 2}}
    assert api.put(f"{OFFERS_PATH}/summer_blade_bundle", json=twice, headers=key_header(tenant_key)).status == 200

    # When the same unmatched conversion is reported twice
    first = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)
    retry = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # Then both are accepted as unmatched, and they count as one purchase, with one revenue
    for response in (first, retry):
        assert response.status == 200 and response.json() == {"status": "ok"}
        assert response.headers["x-feedback-status"] == "unmatched"
    assert purchases() == {"summer_blade_bundle": 1}
    assert int(purchases_item(dynamodb)["revenue_millicents"]["N"]) == 999_000
    # And the bundle is still recommended to the player (one purchase of two)
    assert "summer_blade_bundle" in recommended(api, tenant_key)

    # When the player then buys it through that recommendation
    bought = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # Then it is matched and counted too: two purchases, the limit reached
    assert bought.headers["x-feedback-status"] == "applied"
    assert purchases() == {"summer_blade_bundle": 2}
    assert int(purchases_item(dynamodb)["revenue_millicents"]["N"]) == 2 * 999_000
    assert "summer_blade_bundle" not in recommended(api, tenant_key)


def test_a_concurrent_double_unmatched_conversion_counts_once_without_an_error(api, tenant_key, dynamodb, monkeypatch):
    # Given the bundle allowing two purchases, never shown to the player, and two reports of the same conversion
    # racing: the second finds no exposure and counts the purchase after the first found none, before it counts
    create_seed_offers(api, tenant_key)
    bundle = {key: value for key, value in SEED_OFFERS[0].items() if key != "offer_id"}
    twice = {**bundle, "limits": {"max_purchases": 2}}
    assert api.put(f"{OFFERS_PATH}/summer_blade_bundle", json=twice, headers=key_header(tenant_key)).status == 200
    counted: list[bool] = []
    original_count = offers_repository.count_unmatched_purchase

    def count(*args, **kwargs):
        counted.append(original_count(*args, **kwargs))
        return counted[-1]

    monkeypatch.setattr(offers_repository, "count_unmatched_purchase", count)
    original_report = store.report_outcome
    principal = Principal(tenant_id="tenant-a", key_id="other_instance", scopes=frozenset())
    raced: list[bool] = []

    def racing_report(*args, **kwargs):
        result = original_report(*args, **kwargs)
        if not raced:  # the first report, between finding no exposure and counting: the other one runs now
            raced.append(True)
            offers_feedback.report(principal, FeedbackInput.model_validate(SEED_FEEDBACK))
        return result

    monkeypatch.setattr(store, "report_outcome", racing_report)

    # When the first report completes
    response = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)

    # Then its conditional write found the other's marker: not counted again, and no error
    assert counted == [True, False]
    assert response.status == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-feedback-status"] == "unmatched"
    # And the purchase is counted once, with one revenue: the bundle is still recommended (one of two)
    assert purchases() == {"summer_blade_bundle": 1}
    assert int(purchases_item(dynamodb)["revenue_millicents"]["N"]) == 999_000
    monkeypatch.undo()
    assert "summer_blade_bundle" in recommended(api, tenant_key)


def test_an_unmatched_conversion_is_one_conditional_write(api, tenant_key, dynamodb, monkeypatch, dynamodb_table_calls):
    # Given a warm instance (key and catalog cached by a first report)
    create_seed_offers(api, tenant_key)
    dismissal = {key: value for key, value in SEED_FEEDBACK.items() if key != "revenue_usd"}
    assert post(api, tenant_key, "/v1/feedback", {**dismissal, "outcome": "dismissed"}).status == 200
    calls = dynamodb_table_calls
    calls.clear()

    # When an unmatched conversion is reported
    response = post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK)
    monkeypatch.undo()

    # Then it made the player's log read and one write: the purchases item's conditional update
    assert response.headers["x-feedback-status"] == "unmatched"
    interactions = get_settings().interactions_table
    assert calls == [("Query", interactions), ("UpdateItem", interactions)]
    item = purchases_item(dynamodb)
    assert set(item) == {"PK", "SK", "u:summer_blade_bundle", "updated_at", "revenue_millicents"}


def test_unmatched_dismissals_expiries_and_unknown_offers_count_nothing(api, tenant_key, dynamodb):
    # Given the seed's offers, none shown to the player
    create_seed_offers(api, tenant_key)
    dismissal = {key: value for key, value in SEED_FEEDBACK.items() if key != "revenue_usd"}

    # When the game reports a dismissal, an expiry, and a conversion of an offer the game does not have
    responses = [
        post(api, tenant_key, "/v1/feedback", {**dismissal, "outcome": "dismissed"}),
        post(api, tenant_key, "/v1/feedback", {**dismissal, "outcome": "expired"}),
        post(api, tenant_key, "/v1/feedback", {**SEED_FEEDBACK, "offer_id": "no_such_offer"}),
    ]

    # Then each is accepted as unmatched and nothing is written: no purchases item, no model
    for response in responses:
        assert response.status == 200 and response.headers["x-feedback-status"] == "unmatched"
    assert purchases_item(dynamodb) == {}
    assert model_items(dynamodb) == []


def test_an_unmatched_conversion_of_an_offer_created_on_another_instance_is_counted(api, tenant_key):
    # Given this instance's cached catalog, and an offer another instance created after it was read
    create_seed_offers(api, tenant_key)
    assert recommended(api, tenant_key)
    fresh = {"offer_id": "vip_pass", "name": "VIP Pass", "price_usd": 19.99, "limits": {"max_purchases": 1}}
    now = clock.now_iso()
    item = GameOfferItem.from_fields(GAME, "vip_pass", CreateGameOfferInput.model_validate(fresh), now, now)
    offers_repository.create_offer("tenant-a", item)

    # When the game reports the player bought it
    response = post(api, tenant_key, "/v1/feedback", {**SEED_FEEDBACK, "offer_id": "vip_pass", "revenue_usd": 19.99})

    # Then the catalog is read again, the offer found and the purchase counted
    assert response.headers["x-feedback-status"] == "unmatched"
    assert purchases() == {"vip_pass": 1}
    assert "vip_pass" not in recommended(api, tenant_key)


def recommend_hours_ago(api, key, hours):
    """One recommendation shown `hours` ago (the clock set back for it); returns now, as it was before."""
    start = clock.now()
    clock.set_clock(lambda: start - timedelta(hours=hours))
    try:
        assert recommend(api, key, max_results=1).status == 200
    finally:
        clock.set_clock(None)
    return start


def test_an_overdue_exposure_expires_when_the_player_is_next_seen(api, tenant_key, dynamodb):
    # Given a recommendation 25 hours ago that got no report
    create_seed_offers(api, tenant_key)
    recommend_hours_ago(api, tenant_key, 25)

    # When the player is seen again
    assert recommend(api, tenant_key, max_results=1).status == 200

    # Then the old exposure was resolved as expired (the model learned one negative)
    outcomes = [exposure.outcome for exposure, _ in store.player_exposures(GAME, PLAYER)]
    assert outcomes.count("expired") == 1
    assert sum(int(item["updates"]["N"]) for item in model_items(dynamodb) if item["SK"]["S"] == "S") == 1


def test_recommend_indexes_its_log_item_for_the_expiry_sweep_in_the_same_write(
    api, tenant_key, dynamodb, monkeypatch, dynamodb_calls
):
    # Given the seed's offers and a warm instance (key, catalog and model cached by a first recommend)
    create_seed_offers(api, tenant_key)
    assert recommend(api, tenant_key).status == 200
    calls = dynamodb_calls
    calls.clear()

    # When the player is recommended offers again
    response = recommend(api, tenant_key)
    monkeypatch.undo()

    # Then it made the round trips it made before the index: the player's log, the purchases (an offer has a
    # purchase limit) and the one log write
    assert response.status == 200, response.body
    assert calls == ["Query", "GetItem", "PutItem"]
    # And that write carries the expiry index's keys: the UTC hour its exposures become overdue, the player's shard
    newest, sort_key = store.player_exposures(GAME, PLAYER)[0]
    assert newest.interaction_id == response.headers["x-interaction-id"]
    table = get_settings().interactions_table
    key = {"PK": {"S": f"OFFERRECS#{GAME}#{PLAYER}"}, "SK": {"S": sort_key}}
    item = dynamodb.get_item(TableName=table, Key=key)["Item"]
    due = store.due_hour(newest.shown_at + DEFAULT_EXPIRY_WINDOW)
    partition = store.due_partition(due, store.due_shard(GAME, PLAYER))
    assert item["GSI1PK"]["S"] == partition == f"OFFERDUE#{due:%Y-%m-%dT%H}#{store.due_shard(GAME, PLAYER)}"
    shown_at = item["shown_at"]["S"]
    assert item["GSI1SK"]["S"] == f"{shown_at}#{GAME}#{PLAYER}#{newest.interaction_id}"
    # And the index finds it under that hour (keys only: the log item's key is all the sweep needs)
    indexed = dynamodb.query(
        TableName=table,
        IndexName=store.DUE_INDEX,
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )["Items"]
    assert key in [{"PK": entry["PK"], "SK": entry["SK"]} for entry in indexed]
    assert all(set(entry) == {"PK", "SK", "GSI1PK", "GSI1SK"} for entry in indexed)


def _model_always_contended(monkeypatch):
    """Every learner transaction is cancelled as DynamoDB does when another request writes the model item."""
    client = aws.dynamodb_client()

    def contended(**kwargs):
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", contended)
    monkeypatch.setattr(store.time, "sleep", lambda seconds: None)


def test_a_model_contended_through_every_retry_is_503_with_retry_after_and_records_nothing(
    api, tenant_key, dynamodb, monkeypatch
):
    # Given an overdue exposure (recommend will expire it) and one to report on
    create_seed_offers(api, tenant_key)
    start = recommend_hours_ago(api, tenant_key, 25)
    shown = recommend(api, tenant_key, max_results=1).json()[0]["offer_id"]
    model_before = model_items(dynamodb)
    # When every write to the game's model is cancelled by concurrent writers
    _model_always_contended(monkeypatch)
    clock.set_clock(lambda: start + timedelta(hours=26))
    try:
        seen_again = recommend(api, tenant_key, max_results=1)
    finally:
        clock.set_clock(None)
    report = post(api, tenant_key, "/v1/feedback", {**SEED_FEEDBACK, "offer_id": shown})
    # Then both the recommend that had to expire an exposure and the feedback answer 503 with Retry-After
    for response in (seen_again, report):
        assert response.status == 503, response.body
        assert response.headers["retry-after"] == "1"
        assert "retry" in response.json()["detail"]
    # And the model is as it was
    assert model_items(dynamodb) == model_before


def test_recommend_adds_the_players_purchase_history_from_the_one_log_read(api, tenant_key, monkeypatch):
    # Given a recommendation 25 hours ago: the bundle was bought, the other shown offers got no report
    create_seed_offers(api, tenant_key)
    start = clock.now()
    clock.set_clock(lambda: start - timedelta(hours=25))
    try:
        assert len(recommend(api, tenant_key).json()) > 1
        assert post(api, tenant_key, "/v1/feedback", SEED_FEEDBACK).headers["x-feedback-status"] == "applied"
    finally:
        clock.set_clock(None)
    log_reads = []
    read_log = store.player_log
    monkeypatch.setattr(store, "player_log", lambda *args: log_reads.append(args) or read_log(*args))

    # When the player is seen again
    assert recommend(api, tenant_key).status == 200

    # Then the log was read once for impressions, expiry and history; the new exposure's context carries
    # the player's history (one purchase, the $9.99 price band), and the open exposures expired
    assert len(log_reads) == 1
    monkeypatch.undo()
    logged = store.player_exposures(GAME, PLAYER)
    newest = logged[0][0]
    assert {"buys=1", "paid=7"} <= set(newest.context)
    assert not {"buys=1", "paid=7"} & set(logged[-1][0].context)
    assert [e.outcome for e, _ in logged if e.interaction_id != newest.interaction_id].count("expired") >= 1


def test_recommend_ranks_and_logs_a_player_as_the_segment_their_outcomes_fit(api, tenant_key, monkeypatch):
    # Given a model that learnt whales buy the health pack half of the time and low spenders never do
    trained = model.ModelState()
    health_pack = OfferFeatures("health_pack_10x", 2.99, ("health_pack", "consumables"))
    for index in range(200):
        for segment, converted in (("whale", index % 2 == 0), ("low-spender", False)):
            context = context_features({**SEED_RECOMMEND["session_context"], "segment": segment})
            trained.apply(model.posterior_update(trained, pair_features(context, health_pack, 1), converted))
    monkeypatch.setattr(store, "load_model", lambda game_id: trained)
    create_seed_offers(api, tenant_key)

    # When a player the game reports as a low spender buys the health pack after each of two recommendations
    low_spender = {**SEED_RECOMMEND["session_context"], "segment": "low-spender"}
    for _ in range(2):
        assert recommend(api, tenant_key, session_context=low_spender).status == 200
        bought = {**SEED_FEEDBACK, "offer_id": "health_pack_10x", "revenue_usd": 2.99}
        assert post(api, tenant_key, "/v1/feedback", bought).headers["x-feedback-status"] == "applied"
    assert recommend(api, tenant_key, session_context=low_spender).status == 200

    # Then the first recommendation was logged with the reported segment, the last with the whale segment
    logged = [exposure for exposure, _ in store.player_exposures(GAME, PLAYER)]  # newest first
    first, last = logged[-1], logged[0]
    assert segment_feature("low-spender") in first.context
    assert segment_feature("whale") in last.context
    assert segment_feature("low-spender") not in last.context


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "converted", "revenue_usd": None},
        {"revenue_usd": -1},
        {"revenue_usd": 100_000.01},
        {"revenue_usd": 1.234},
        {"outcome": "dismissed", "revenue_usd": 5},
        {"outcome": "refunded"},
        {"offer_id": "x" * 65},
    ],
)
def test_bad_feedback_is_refused_with_422(api, tenant_key, change):
    create_seed_offers(api, tenant_key)
    body = {**SEED_FEEDBACK, **change}
    body = {key: value for key, value in body.items() if value is not None}

    response = post(api, tenant_key, "/v1/feedback", body)

    assert response.status == 422, response.body
    assert response.json()["detail"]


def test_converted_without_revenue_names_the_field(api, tenant_key):
    create_seed_offers(api, tenant_key)
    body = {key: value for key, value in SEED_FEEDBACK.items() if key != "revenue_usd"}

    response = post(api, tenant_key, "/v1/feedback", body)

    assert response.status == 422
    assert "revenue_usd is required" in response.json()["detail"]


# --- Recommend: input, tenancy, eligibility, learning ---------------------------------------------------


@pytest.mark.parametrize("max_results", [0, 51, -1])
def test_max_results_out_of_range_is_422(api, tenant_key, max_results):
    create_seed_offers(api, tenant_key)

    response = recommend(api, tenant_key, max_results=max_results)

    assert response.status == 422
    assert "max_results" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("/v2/recommend", {"max_results": "3"}),
        ("/v2/recommend", {"max_results": True}),
        ("/v2/recommend", {"max_results": 3.0}),
        (OFFERS_PATH, {"eligibility": {"min_level": "20"}}),
        (OFFERS_PATH, {"eligibility": {"max_level": 20.0}}),
        (OFFERS_PATH, {"limits": {"max_purchases": True}}),
        (OFFERS_PATH, {"price_usd": "0.10"}),
        ("/v1/feedback", {"revenue_usd": "9.99"}),
        ("/v1/feedback", {"revenue_usd": True}),
    ],
)
def test_a_number_sent_as_another_json_type_is_400_not_coerced(api, tenant_key, path, change):
    bodies = {"/v2/recommend": SEED_RECOMMEND, "/v1/feedback": SEED_FEEDBACK, OFFERS_PATH: SEED_OFFERS[1]}
    if path != OFFERS_PATH:
        create_seed_offers(api, tenant_key)
    # When a field the schema types as a number comes as a string or a boolean (or a float for an integer)
    response = post(api, tenant_key, path, {**bodies[path], **change})
    # Then it is refused as malformed with the field named (not read as the number it might mean)
    assert response.status == 400, response.body
    field, value = next(iter(change.items()))
    field = f"{field}.{next(iter(value))}" if isinstance(value, dict) else field
    detail = response.json()["detail"]
    assert f"{field}: Input should be a valid integer" in detail or f"{field}: Input should be a number" in detail


@pytest.mark.parametrize(
    "change",
    [
        {"inventory_gaps": [f"item_{n}" for n in range(51)]},
        {"session_context": {f"k{n}": n for n in range(51)}},
        {"session_context": {"blob": "x" * 5000}},
        # the keys eligibility reads keep the seed's types (a level of "34" would silently hide level-gated offers)
        {"session_context": {"level": "34", "segment": "mid-spender"}},
        {"session_context": {"level": True}},
        {"session_context": {"minutes_played": "18"}},
        {"session_context": {"segment": 3}},
        {"player_id": "p" * 129},
        {"game_id": "bad game id"},
    ],
)
def test_unbounded_recommend_input_is_refused(api, tenant_key, change):
    create_seed_offers(api, tenant_key)

    response = recommend(api, tenant_key, **change)

    assert response.status == 422, response.body


@pytest.mark.parametrize(
    ("session_context", "detail"),
    [
        ({"level": 34, "segment": "\ud800"}, "surrogate"),  # a string no UTF-8 encoder takes
        ({"level": 34, "minutes_played": 10**400}, "float range"),  # a number float() overflows on
    ],
)
def test_session_context_values_the_learner_cannot_read_are_400_not_500(api, tenant_key, session_context, detail):
    create_seed_offers(api, tenant_key)

    response = recommend(api, tenant_key, session_context=session_context)

    assert response.status == 400, response.body
    assert detail in response.json()["detail"]


def test_recommend_for_an_unknown_game_is_404(api, tenant_key):
    response = recommend(api, tenant_key, game_id="no-such-game")

    feedback = post(api, tenant_key, "/v1/feedback", {**SEED_FEEDBACK, "game_id": "no-such-game"})

    assert response.status == 404
    assert response.json() == {"detail": "Game 'no-such-game' not found"}
    assert feedback.status == 404


def test_another_tenants_game_is_403_on_every_route(api, tenant_key, other_tenant_key):
    create_seed_offers(api, tenant_key)
    offer = SEED_OFFERS[1]

    answers = [
        recommend(api, other_tenant_key),
        post(api, other_tenant_key, "/v1/feedback", SEED_FEEDBACK),
        post(api, other_tenant_key, OFFERS_PATH, {**offer, "offer_id": "stolen"}),
        api.get(OFFERS_PATH, headers=key_header(other_tenant_key)),
        api.get(f"{OFFERS_PATH}/health_pack_10x", headers=key_header(other_tenant_key)),
        api.put(
            f"{OFFERS_PATH}/health_pack_10x",
            json={k: v for k, v in offer.items() if k != "offer_id"},
            headers=key_header(other_tenant_key),
        ),
        api.delete(f"{OFFERS_PATH}/health_pack_10x", headers=key_header(other_tenant_key)),
    ]

    assert [answer.status for answer in answers] == [403] * len(answers)
    assert all("another tenant" in answer.json()["detail"] for answer in answers)
    # And nothing of the owner's catalog changed
    listed = api.get(OFFERS_PATH, headers=key_header(tenant_key)).json()
    assert listed["count"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v2/recommend", SEED_RECOMMEND),
        ("POST", "/v1/feedback", SEED_FEEDBACK),
        ("POST", OFFERS_PATH, SEED_OFFERS[1]),
        ("GET", OFFERS_PATH, None),
        ("GET", f"{OFFERS_PATH}/summer_blade_bundle", None),
        ("PUT", f"{OFFERS_PATH}/summer_blade_bundle", {"name": "x", "price_usd": 1}),
        ("DELETE", f"{OFFERS_PATH}/summer_blade_bundle", None),
    ],
)
def test_missing_or_wrong_api_key_is_401(api, tenant_key, method, path, body):

    missing = api.request(method, path, json=body)
    wrong = api.request(method, path, json=body, headers=key_header("ak_not_a_real_key"))

    assert missing.status == 401 and missing.json() == {"detail": "Missing X-API-Key header"}
    assert wrong.status == 401


def test_no_eligible_offers_is_an_empty_array(api, tenant_key):
    # Given the game's only offer is paused
    offer = {**SEED_OFFERS[1], "status": "paused"}
    assert post(api, tenant_key, OFFERS_PATH, offer).status == 201

    response = recommend(api, tenant_key)

    assert response.status == 200 and response.json() == []
    assert "x-interaction-id" not in response.headers


def test_eligibility_filters_segment_level_and_window(api, tenant_key):
    now = clock.now()
    offers = [
        {"offer_id": "whales_only", "name": "W", "price_usd": 99.99, "eligibility": {"segments": ["whale"]}},
        {"offer_id": "newbies", "name": "N", "price_usd": 0.99, "eligibility": {"max_level": 10}},
        {"offer_id": "veterans", "name": "V", "price_usd": 1.99, "eligibility": {"min_level": 30, "max_level": 40}},
        {
            "offer_id": "future_sale",
            "name": "F",
            "price_usd": 2.99,
            "starts_at": clock.isoformat(now + timedelta(days=1)),
        },
        {"offer_id": "past_sale", "name": "P", "price_usd": 2.99, "ends_at": clock.isoformat(now - timedelta(days=1))},
        {"offer_id": "archived", "name": "A", "price_usd": 2.99, "status": "archived"},
        {"offer_id": "for_mid", "name": "M", "price_usd": 3.99, "eligibility": {"segments": ["MID-SPENDER"]}},
    ]
    for offer in offers:
        assert post(api, tenant_key, OFFERS_PATH, offer).status == 201

    shown = {entry["offer_id"] for entry in recommend(api, tenant_key, max_results=50).json()}
    no_level = recommend(api, tenant_key, max_results=50, session_context={"segment": "mid-spender"}).json()

    assert shown == {"veterans", "for_mid"}
    assert {entry["offer_id"] for entry in no_level} == {"for_mid"}


def test_daily_impression_limit(api, tenant_key):
    offer = {**SEED_OFFERS[1], "limits": {"max_impressions_per_day": 2}}
    assert post(api, tenant_key, OFFERS_PATH, offer).status == 201

    answers = [recommend(api, tenant_key).json() for _ in range(3)]

    assert [len(answer) for answer in answers] == [1, 1, 0]


def count_log_reads(monkeypatch) -> list[int]:
    """Items each Query of a player's recommendation log returned (the cost of the read)."""
    from arbiter import aws

    read_items: list[int] = []
    client = aws.dynamodb_client()
    query = client.query

    def counting_query(**kwargs):
        page = query(**kwargs)
        if kwargs["ExpressionAttributeValues"][":pk"]["S"].startswith("OFFERRECS#"):
            read_items.append(page["ScannedCount"])
        return page

    monkeypatch.setattr(client, "query", counting_query)
    return read_items


def test_a_recommend_reads_a_bounded_part_of_the_players_log(api, tenant_key, monkeypatch):
    # Given a player served more often than one read returns (the bound lowered to 4 for the test), 25 h ago
    monkeypatch.setattr(store, "LOG_READ_LIMIT", 4)
    create_seed_offers(api, tenant_key)
    for _ in range(7):
        recommend_hours_ago(api, tenant_key, hours=25)
    read_items = count_log_reads(monkeypatch)

    # When the player is seen again
    assert recommend(api, tenant_key).status == 200

    # Then the request read the newest 4 recommendations and one more item (to know there are older ones), not 7
    assert sum(read_items) == 5
    assert store.player_log(GAME, PLAYER).truncated


def test_daily_impression_limits_hold_for_a_player_served_more_than_one_read_returns(api, tenant_key, monkeypatch):
    # Given an offer shown at most 2 times a day, shown twice, then 4 recommendations of other offers in the same
    # day: the newest 4 recommendations (one read, the bound lowered to 4) do not show it
    monkeypatch.setattr(store, "LOG_READ_LIMIT", 4)
    limited = {**SEED_OFFERS[1], "limits": {"max_impressions_per_day": 2}}
    assert post(api, tenant_key, OFFERS_PATH, limited).status == 201
    assert [len(recommend(api, tenant_key).json()) for _ in range(2)] == [1, 1]
    assert post(api, tenant_key, OFFERS_PATH, SEED_OFFERS[2]).status == 201
    for _ in range(4):
        assert [o["offer_id"] for o in recommend(api, tenant_key).json()] == ["gold_starter_500"]

    # When the player asks again
    answer = recommend(api, tenant_key).json()

    # Then the limited offer is still withheld (its showings may be older than what was read), the other is not
    assert [o["offer_id"] for o in answer] == ["gold_starter_500"]


def test_a_read_reaching_past_the_day_counts_impressions_exactly(api, tenant_key, monkeypatch):
    # Given an offer shown at most 2 times a day, shown 5 times 25 h ago, and once today; one read returns 4
    monkeypatch.setattr(store, "LOG_READ_LIMIT", 4)
    limited = {**SEED_OFFERS[1], "limits": {"max_impressions_per_day": 2}}
    assert post(api, tenant_key, OFFERS_PATH, limited).status == 201
    for _ in range(5):
        recommend_hours_ago(api, tenant_key, hours=25)
    assert len(recommend(api, tenant_key).json()) == 1

    # When the player asks again, and again
    answers = [recommend(api, tenant_key).json() for _ in range(2)]

    # Then the read went back past the day (its oldest item is 25 h old): today's count is exact
    assert [len(answer) for answer in answers] == [1, 0]


def test_feedback_for_a_showing_older_than_one_read_is_unmatched(api, tenant_key, monkeypatch):
    # Given the bundle shown once, then 4 newer recommendations at level 1, where it is not eligible (one read
    # returns 4)
    monkeypatch.setattr(store, "LOG_READ_LIMIT", 4)
    create_seed_offers(api, tenant_key)
    assert "summer_blade_bundle" in {o["offer_id"] for o in recommend(api, tenant_key, max_results=3).json()}
    for _ in range(4):
        newer = recommend(api, tenant_key, session_context={"level": 1}).json()
        assert "summer_blade_bundle" not in {o["offer_id"] for o in newer}
    read_items = count_log_reads(monkeypatch)

    # When the game reports the first showing's outcome
    report = {key: value for key, value in SEED_FEEDBACK.items() if key != "revenue_usd"} | {"outcome": "dismissed"}
    response = post(api, tenant_key, "/v1/feedback", report)

    # Then the lookup stopped after 4 items and the report is accepted as unmatched
    assert response.status == 200
    assert sum(read_items) <= 4
    assert response.headers["x-feedback-status"] == "unmatched"


def test_inventory_gap_match_changes_cold_start_ranking(api, tenant_key, monkeypatch):
    monkeypatch.setattr(offers_recommend, "_rng", random.Random(7))  # Thompson draws, reproducible
    # Given two new offers at the same price, one granting a potion, the other a shield
    for offer_id, grant in (("potion_pack", "health_pack"), ("shield_pack", "iron_shield")):
        offer = {"offer_id": offer_id, "name": offer_id, "price_usd": 4.99, "grants": [grant]}
        assert post(api, tenant_key, OFFERS_PATH, offer).status == 201

    # When players missing one or the other ask, with no feedback yet (cold start)
    def top_share(gap: str) -> float:
        tops = [
            recommend(api, tenant_key, player_id=f"p{n}", inventory_gaps=[gap], max_results=2).json() for n in range(30)
        ]
        return sum(answer[0]["offer_id"] == "potion_pack" for answer in tops) / len(tops)

    # Then the gap-filling offer ranks first far more often, and scores higher
    assert top_share("health_pack") > 0.6
    assert top_share("iron_shield") < 0.4
    scores = {e["offer_id"]: e["score"] for e in recommend(api, tenant_key, inventory_gaps=["health_pack"]).json()}
    assert scores["potion_pack"] > scores["shield_pack"]


def test_conversions_move_the_ranking_toward_the_buying_offer(api, tenant_key):
    # Given two equal offers and players who only ever buy the gems
    for offer_id in ("gems_small", "coins_small"):
        assert (
            post(api, tenant_key, OFFERS_PATH, {"offer_id": offer_id, "name": offer_id, "price_usd": 1.99}).status
            == 201
        )
    for n in range(15):
        ranked = recommend(api, tenant_key, player_id=f"buyer{n}", max_results=2).json()
        for entry in ranked:
            outcome = (
                {"outcome": "converted", "revenue_usd": 1.99}
                if entry["offer_id"] == "gems_small"
                else {"outcome": "dismissed"}
            )
            body = {"game_id": GAME, "player_id": f"buyer{n}", "offer_id": entry["offer_id"], **outcome}
            assert post(api, tenant_key, "/v1/feedback", body).headers["x-feedback-status"] == "applied"

    # Then the learned scores favour the gems
    store.forget_models()
    scores = {e["offer_id"]: e["score"] for e in recommend(api, tenant_key, player_id="new_player").json()}
    assert scores["gems_small"] > scores["coins_small"]


# --- Catalog ------------------------------------------------------------------------------------------------


def test_create_get_list_replace_delete(api, tenant_key):
    # Create
    created = post(api, tenant_key, OFFERS_PATH, SEED_OFFERS[0])
    assert created.status == 201
    offer = created.json()
    assert offer["game_id"] == GAME and offer["offer_id"] == "summer_blade_bundle"
    assert offer["price_usd"] == 9.99 and offer["status"] == "active"
    assert offer["eligibility"] == {"segments": ["mid-spender", "whale"], "min_level": 20, "max_level": None}
    assert offer["limits"] == {"max_purchases": 1, "max_impressions_per_day": 5}

    # Get and list
    path = f"{OFFERS_PATH}/summer_blade_bundle"
    assert api.get(path, headers=key_header(tenant_key)).json() == offer
    listed = api.get(OFFERS_PATH, headers=key_header(tenant_key))
    assert listed.status == 200 and listed.json() == {"offers": [offer], "count": 1}

    # Replace
    replacement = {"name": "Summer Blade Bundle (sale)", "price_usd": 4.5, "grants": ["legendary_sword"]}
    replaced = api.put(path, json=replacement, headers=key_header(tenant_key))
    assert replaced.status == 200
    assert replaced.json()["price_usd"] == 4.5 and replaced.json()["created_at"] == offer["created_at"]
    assert replaced.json()["limits"] == {"max_purchases": None, "max_impressions_per_day": None}

    # Delete
    deleted = api.delete(path, headers=key_header(tenant_key))
    assert deleted.status == 204 and deleted.body == ""
    assert api.get(path, headers=key_header(tenant_key)).status == 404
    assert api.get(OFFERS_PATH, headers=key_header(tenant_key)).json() == {"offers": [], "count": 0}


def test_price_is_stored_exactly_in_millicents(api, tenant_key, dynamodb):
    from arbiter.settings import get_settings

    post(api, tenant_key, OFFERS_PATH, {"offer_id": "p", "name": "p", "price_usd": 0.1})
    item = dynamodb.get_item(
        TableName=get_settings().campaigns_table, Key={"PK": {"S": f"OFFERGAME#{GAME}"}, "SK": {"S": "OFFER#p"}}
    )["Item"]

    assert '"price_millicents":10000' in item["body"]["S"]
    assert api.get(f"{OFFERS_PATH}/p", headers=key_header(tenant_key)).json()["price_usd"] == 0.1


def test_duplicate_offer_id_is_409_and_changes_nothing(api, tenant_key):
    post(api, tenant_key, OFFERS_PATH, SEED_OFFERS[1])

    again = post(api, tenant_key, OFFERS_PATH, {**SEED_OFFERS[1], "name": "Other"})

    assert again.status == 409
    assert api.get(f"{OFFERS_PATH}/health_pack_10x", headers=key_header(tenant_key)).json()["name"] == "10 Health Packs"


def test_unknown_game_and_offer_are_404(api, tenant_key):
    assert api.get("/v2/games/nope/offers", headers=key_header(tenant_key)).status == 404
    assert api.get("/v2/games/nope/offers/x", headers=key_header(tenant_key)).status == 404
    create_seed_offers(api, tenant_key)
    missing = f"{OFFERS_PATH}/missing_offer"
    replacement = {"name": "x", "price_usd": 1}
    assert api.get(missing, headers=key_header(tenant_key)).status == 404
    assert api.put(missing, json=replacement, headers=key_header(tenant_key)).status == 404
    assert api.delete(missing, headers=key_header(tenant_key)).status == 404


@pytest.mark.parametrize(
    "change",
    [
        {"offer_id": "has space"},
        {"offer_id": "x" * 65},
        {"offer_id": ""},
        {"price_usd": 0},
        {"price_usd": 1.999},
        {"price_usd": 10_000.01},
        {"name": ""},
        {"grants": ["g"] * 21},
        {"eligibility": {"min_level": 30, "max_level": 10}},
        {"eligibility": {"segments": ["s"] * 51}},
        {"limits": {"max_purchases": 0}},
        {"limits": {"max_impressions_per_day": 1001}},
        {"starts_at": "tomorrow"},
        {"ends_at": "9999-12-31T23:00:00-02:00"},  # past the last representable instant in UTC
        {"starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"},
        {"status": "deleted"},
        {"unknown_field": 1},
    ],
)
def test_invalid_offer_is_422_and_writes_nothing(api, tenant_key, change):
    response = post(api, tenant_key, OFFERS_PATH, {**SEED_OFFERS[1], **change})

    assert response.status == 422, response.body
    assert response.json()["detail"]
    # Nothing written: the game was not even claimed
    assert api.get(OFFERS_PATH, headers=key_header(tenant_key)).status == 404


def test_offer_dates_are_kept_as_utc_like_every_api(api, tenant_key):
    body = {**SEED_OFFERS[1], "starts_at": "2026-06-01T02:00:00+02:00", "ends_at": "2026-07-01"}
    created = post(api, tenant_key, OFFERS_PATH, body)
    assert created.status == 201, created.body
    assert (created.json()["starts_at"], created.json()["ends_at"]) == ("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")


def test_invalid_replacement_is_422_and_keeps_the_offer(api, tenant_key):
    post(api, tenant_key, OFFERS_PATH, SEED_OFFERS[1])
    path = f"{OFFERS_PATH}/health_pack_10x"

    response = api.put(path, json={"name": "x", "price_usd": -1}, headers=key_header(tenant_key))

    assert response.status == 422
    assert api.get(path, headers=key_header(tenant_key)).json()["price_usd"] == 2.99


def test_missing_body_fields_are_400(api, tenant_key):
    response = post(api, tenant_key, OFFERS_PATH, {"offer_id": "x"})

    assert response.status == 400
    assert "name" in response.json()["detail"]


def test_catalog_change_reaches_recommend_at_once_on_the_writing_instance(api, tenant_key):
    create_seed_offers(api, tenant_key)
    assert len(recommend(api, tenant_key, max_results=10).json()) == 3

    api.delete(f"{OFFERS_PATH}/gold_starter_500", headers=key_header(tenant_key))

    ids = {entry["offer_id"] for entry in recommend(api, tenant_key, max_results=10).json()}
    assert "gold_starter_500" not in ids and len(ids) == 2
