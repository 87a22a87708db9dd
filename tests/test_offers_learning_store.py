"""The learner's DynamoDB store: exactly-once outcomes, expiry, cached reads and no lost updates under concurrency."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from arbiter import aws
from arbiter.learning import model, store
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, Exposure
from arbiter.learning.features import OfferFeatures, context_features

GAME = "ool-mmo"
SWORD = OfferFeatures("summer_blade_bundle", 9.99, ("legendary_sword", "weapons"))
POTIONS = OfferFeatures("health_pack_10x", 4.99, ("health_pack",))
CONTEXT = context_features({"level": 34, "minutes_played": 18, "segment": "mid-spender"})
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def model_store(dynamodb, fast_transactions):
    store.forget_models()
    yield dynamodb
    store.forget_models()


def show(player: str, interaction: str, *offers: OfferFeatures, at: datetime = T0) -> None:
    store.record_recommendation(
        GAME, player, [Exposure(interaction, offer, CONTEXT, offer is SWORD, at) for offer in offers]
    )


def stored_stats() -> dict[str, model.FeatureStats]:
    return store.read_model(GAME).stats


def test_a_conversion_updates_the_model_once_and_a_retry_changes_nothing(model_store):
    # Given a recommendation of two offers to a player
    show("player_8a2f", "int_1", SWORD, POTIONS)

    # When the game reports a conversion for one of them
    result = store.report_outcome(GAME, "player_8a2f", SWORD.offer_id, "converted")

    # Then it is applied: the stored model holds exactly the update's deltas, and the cache saw them too
    assert result.status == store.FeedbackStatus.APPLIED and result.interaction_id == "int_1"
    stats = stored_stats()
    assert set(stats) == set(result.deltas)
    for name, delta in result.deltas.items():
        assert stats[name].precision_delta == pytest.approx(delta.precision_delta, rel=1e-9)
        assert stats[name].eta_delta == pytest.approx(delta.eta_delta, rel=1e-9, abs=1e-12)
    features = Exposure("x", SWORD, CONTEXT, True, T0).features()
    cached = store.load_model(GAME)
    assert model.predictive_conversion(cached, features) > model.predictive_conversion(model.ModelState(), features)

    # When the same report is retried
    retry = store.report_outcome(GAME, "player_8a2f", SWORD.offer_id, "converted")

    # Then nothing changes
    assert retry.status == store.FeedbackStatus.DUPLICATE and retry.previous_outcome == "converted"
    assert stored_stats() == stats


def test_feedback_for_an_offer_never_shown_to_the_player_is_unmatched_and_writes_nothing(model_store):
    show("player_8a2f", "int_1", SWORD)
    assert store.report_outcome(GAME, "player_8a2f", POTIONS.offer_id, "dismissed").status == "unmatched"
    assert store.report_outcome(GAME, "someone_else", SWORD.offer_id, "converted").status == "unmatched"
    assert stored_stats() == {}


def test_feedback_resolves_the_most_recent_recommendation_of_the_offer(model_store):
    show("p1", "int_old", SWORD, at=T0)
    show("p1", "int_new", SWORD, at=T0 + timedelta(hours=1))
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "dismissed").interaction_id == "int_new"
    # a second dismissal, or an expiry, of the same exposure afterwards is not a new fact: it changes nothing
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "dismissed").status == "duplicate"
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "expired").status == "duplicate"
    # a purchase after the dismissal is one (the player closed the offer, then bought it): applied, then final
    bought = store.report_outcome(GAME, "p1", SWORD.offer_id, "converted")
    assert (bought.status, bought.interaction_id, bought.previous_outcome) == ("applied", "int_new", "dismissed")
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "converted").status == "duplicate"
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "dismissed").status == "duplicate"


def test_feedback_naming_its_interaction_applies_to_that_showing_only(model_store):
    # Given the offer shown, bought (reported with its interaction), then shown again
    show("p1", "int_first", SWORD, at=T0)
    first = store.report_outcome(GAME, "p1", SWORD.offer_id, "converted", interaction_id="int_first")
    assert (first.status, first.interaction_id) == ("applied", "int_first")
    show("p1", "int_second", SWORD, at=T0 + timedelta(hours=1))
    # When the first report is retried, naming its interaction, it is a duplicate (not the second showing's)
    retry = store.report_outcome(GAME, "p1", SWORD.offer_id, "converted", interaction_id="int_first")
    assert (retry.status, retry.interaction_id) == ("duplicate", "int_first")
    exposures = {e.interaction_id: e.outcome for e, _ in store.player_exposures(GAME, "p1")}
    assert exposures == {"int_first": "converted", "int_second": None}
    # And an interaction that did not show the offer to this player matches nothing
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "dismissed", interaction_id="int_other").status == (
        "unmatched"
    )
    assert store.report_outcome(GAME, "p2", SWORD.offer_id, "dismissed", interaction_id="int_second").status == (
        "unmatched"
    )


def test_unanswered_exposures_expire_after_the_window_and_a_late_conversion_still_counts(model_store):
    # Given two offers shown, one of which was dismissed
    show("p1", "int_1", SWORD, POTIONS)
    store.report_outcome(GAME, "p1", POTIONS.offer_id, "dismissed")

    # When expiry runs before the window, then after it
    assert store.expire_overdue(GAME, "p1", now=T0 + DEFAULT_EXPIRY_WINDOW - timedelta(seconds=1)) == 0
    assert store.expire_overdue(GAME, "p1", now=T0 + DEFAULT_EXPIRY_WINDOW) == 1

    # Then only the unanswered one became expired (a negative example), once
    exposures = {e.offer.offer_id: e.outcome for e, _ in store.player_exposures(GAME, "p1")}
    assert exposures == {SWORD.offer_id: "expired", POTIONS.offer_id: "dismissed"}
    assert store.expire_overdue(GAME, "p1", now=T0 + timedelta(days=3)) == 0
    sword_intercept = f"o={SWORD.offer_id}"
    assert stored_stats()[sword_intercept].eta_delta < 0

    # And a conversion reported late replaces `expired` and updates the model once more, exactly once
    late = store.report_outcome(GAME, "p1", SWORD.offer_id, "converted")
    assert late.status == "applied" and late.previous_outcome == "expired"
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "converted").status == "duplicate"


def test_a_warm_model_read_makes_no_dynamodb_call(model_store):
    calls: list[str] = []
    aws.dynamodb_client().meta.events.register(
        "before-call.dynamodb.*", lambda event_name, **_: calls.append(event_name)
    )
    store.load_model(GAME)
    assert len(calls) == 1  # cold: one Query
    store.load_model(GAME)
    store.load_model(GAME)
    assert len(calls) == 1
    store.load_model(GAME, max_age_seconds=0)  # past the TTL
    assert len(calls) == 2


def test_concurrent_feedback_loses_no_update(model_store, atomic_requests):
    # Given 24 players each shown the same offer, and every worker computing its update from the same
    # (soon stale) cached model - the interleaving that loses updates with read-modify-write
    players = [f"player_{index:02d}" for index in range(24)]
    for index, player in enumerate(players):
        show(player, f"int_{index:02d}", SWORD)
    store.load_model(GAME)
    results: list[store.FeedbackResult] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(mine: list[str]) -> None:
        start.wait()
        for index, player in enumerate(mine):
            result = store.report_outcome(GAME, player, SWORD.offer_id, "converted" if index % 2 else "dismissed")
            with lock:
                results.append(result)

    # When 8 threads report at once
    threads = [threading.Thread(target=worker, args=(players[n::8],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every report was applied and the stored statistics are the exact sum of all 24 updates
    assert [r.status for r in results] == ["applied"] * 24
    stats = stored_stats()
    for name in stats:
        expected_q = sum(r.deltas[name].precision_delta for r in results if name in r.deltas)
        expected_e = sum(r.deltas[name].eta_delta for r in results if name in r.deltas)
        assert stats[name].precision_delta == pytest.approx(expected_q, rel=1e-9)
        assert stats[name].eta_delta == pytest.approx(expected_e, rel=1e-9, abs=1e-9)
    shared = aws.dynamodb_client().get_item(
        TableName=store._table(), Key={"PK": {"S": f"OFFERMODEL#{GAME}"}, "SK": {"S": "S"}}
    )["Item"]
    assert shared["updates"]["N"] == "24"


def test_updates_computed_from_the_same_stale_model_all_count(model_store, monkeypatch):
    # Given two instances holding the same cached model, each computing its update from it
    show("p1", "int_1", SWORD)
    show("p2", "int_2", SWORD)
    snapshot = model.ModelState()
    monkeypatch.setattr(store, "load_model", lambda game_id, max_age_seconds=0: snapshot)

    # When both write
    first = store.report_outcome(GAME, "p1", SWORD.offer_id, "converted")
    second = store.report_outcome(GAME, "p2", SWORD.offer_id, "converted")

    # Then the stored model holds both updates (ADD), not the last writer's view
    assert first.deltas == second.deltas
    for name, stats in stored_stats().items():
        assert stats.precision_delta == pytest.approx(2 * first.deltas[name].precision_delta, rel=1e-9)


def test_model_items_have_no_ttl_and_log_items_do(model_store):
    show("p1", "int_1", SWORD)
    store.report_outcome(GAME, "p1", SWORD.offer_id, "converted")
    items = aws.dynamodb_client().scan(TableName=store._table())["Items"]
    model_items = [i for i in items if i["PK"]["S"].startswith("OFFERMODEL#")]
    log_items = [i for i in items if i["PK"]["S"].startswith("OFFERRECS#")]
    assert model_items and all("expires_at" not in item for item in model_items)
    assert log_items and all("expires_at" in item for item in log_items)
    assert {item["SK"]["S"] for item in model_items} >= {"S", f"O#{SWORD.offer_id}"}


def test_the_log_keeps_the_gap_match_count_and_reads_old_items_as_a_flag(model_store):
    # Given a recommendation whose offer matched two gaps
    store.record_recommendation(GAME, "p1", [Exposure("int_1", SWORD, CONTEXT, 2, T0)])

    # Then the exposure read back has the count (and the item keeps the boolean flag too)
    exposure, sort_key = store.latest_exposure(GAME, "p1", SWORD.offer_id)
    assert exposure.gap_match == 2
    assert {f.name for f in exposure.features()} >= {"gap", "gapn=2"}

    # And an item logged before counts were kept (flag only) reads as a count of 1
    client = aws.dynamodb_client()
    key = {"PK": {"S": f"OFFERRECS#{GAME}#p1"}, "SK": {"S": sort_key}}
    client.update_item(
        TableName=store._table(),
        Key=key,
        UpdateExpression="REMOVE offers.#o.gap_count",
        ExpressionAttributeNames={"#o": SWORD.offer_id},
    )
    legacy, _ = store.latest_exposure(GAME, "p1", SWORD.offer_id)
    assert legacy.gap_match == 1


def test_the_log_keeps_only_the_grants_the_model_learns_from(model_store):
    # Given an offer granting 20 long item names (the log used to copy every one: 50 such offers overflowed the
    # 400 KB item)
    bundle = OfferFeatures("mega_bundle", 99.99, tuple(f"{index:02d}_{'💎' * 90}" for index in range(20)))
    store.record_recommendation(GAME, "p1", [Exposure("int_1", bundle, CONTEXT, 0, T0)])

    # Then the log keeps the grants that have features (at most 4, clipped), and the exposure read back rebuilds
    # the same features as the offer itself
    exposure, _ = store.latest_exposure(GAME, "p1", bundle.offer_id)
    assert exposure.offer.grants == bundle.learnt_grants()
    assert len(exposure.offer.grants) == 4
    shown = Exposure("int_1", bundle, CONTEXT, 0, T0)
    assert [f.name for f in exposure.features()] == [f.name for f in shown.features()]
