"""The offers learner's expiry sweep (docs/decisions.md D12): exposures of players who never return become `expired`
once their hour of the expiry index has ended, exactly once, from a watermark that catches up and skips nothing."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from arbiter import aws, clock
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.scheduler import Scheduler
from arbiter.devstack.template import scheduled_functions
from arbiter.learning import model, store, sweep
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, Exposure
from arbiter.learning.features import OfferFeatures, context_features
from arbiter.offers import catalog as offers_catalog
from arbiter.settings import get_settings
from scripts import generate_events

GAME = "ool-mmo"
SWORD = OfferFeatures("summer_blade_bundle", 9.99, ("legendary_sword", "weapons"))
POTIONS = OfferFeatures("health_pack_10x", 4.99, ("health_pack",))
CONTEXT = context_features({"level": 34, "minutes_played": 18, "segment": "mid-spender"})
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # shown at; its exposures are due at 12:00 the next day
HOUR_ENDED = T0 + DEFAULT_EXPIRY_WINDOW + timedelta(hours=1)  # 13:00 the next day: the due hour has ended


@pytest.fixture
def model_store(dynamodb, fast_transactions):
    store.forget_models()
    yield dynamodb
    store.forget_models()


def show(player: str, interaction: str, *offers: OfferFeatures, at: datetime = T0) -> list[Exposure]:
    exposures = [Exposure(interaction, offer, CONTEXT, offer is SWORD, at) for offer in offers]
    store.record_recommendation(GAME, player, exposures)
    return exposures


def outcomes(player: str) -> dict[str, str | None]:
    return {f"{e.interaction_id}/{e.offer.offer_id}": e.outcome for e, _ in store.player_exposures(GAME, player)}


def model_updates() -> int:
    """How many outcomes the game's model has learnt (every outcome touches the shared `S` item once)."""
    item = aws.dynamodb_client().get_item(
        TableName=get_settings().interactions_table, Key={"PK": {"S": f"OFFERMODEL#{GAME}"}, "SK": {"S": "S"}}
    )
    return int(item.get("Item", {}).get("updates", {}).get("N", "0"))


def watermark() -> sweep.Watermark:
    return sweep.read_watermark(T0)


def assert_stats_equal(actual: dict[str, model.FeatureStats], expected: dict[str, model.FeatureStats]) -> None:
    assert set(actual) == set(expected)
    for name, delta in expected.items():
        assert actual[name].precision_delta == pytest.approx(delta.precision_delta, rel=1e-9), name
        assert actual[name].eta_delta == pytest.approx(delta.eta_delta, rel=1e-9, abs=1e-12), name


# ---- what it expires ----------------------------------------------------------------------------------------------


def test_a_player_who_never_returns_has_the_exposure_expired_and_the_model_learns_one_negative(model_store):
    # Given an offer shown to a player who never comes back
    (shown,) = show("p1", "int_1", SWORD)

    # When the sweep runs once the hour the exposure became overdue in has ended
    report = sweep.run(HOUR_ENDED)

    # Then the exposure is `expired`
    assert outcomes("p1") == {"int_1/summer_blade_bundle": "expired"}
    assert (report.expired, report.players, report.stopped) == (1, 1, sweep.Stop.CAUGHT_UP)
    # And the stored model holds exactly one negative update of that exposure from the prior
    expected = model.posterior_update(model.ModelState(), shown.features(), converted=False)
    assert_stats_equal(store.read_model(GAME).stats, expected)
    assert model_updates() == 1
    assert store.read_model(GAME).stats["bias"].eta_delta < 0  # a negative lowers the conversion estimate


def test_an_exposure_behind_more_recommendations_than_one_log_read_returns_is_expired(model_store, monkeypatch):
    # Given a player shown an offer, then shown more recommendations within the hour than one read of their log
    # returns (the bound lowered to 3), none of them reported
    monkeypatch.setattr(store, "LOG_READ_LIMIT", 3)
    show("p1", "int_0", SWORD)
    for index in range(1, 5):
        show("p1", f"int_{index}", SWORD, at=T0 + timedelta(minutes=index))

    # When the sweep runs once their hour has ended
    report = sweep.run(HOUR_ENDED)

    # Then every one is expired, the oldest too (a read of the player's log returns only the newest 3)
    assert outcomes_of_every_item("p1") == {f"int_{index}/summer_blade_bundle": "expired" for index in range(5)}
    assert (report.items, report.players, report.expired) == (5, 1, 5)


def outcomes_of_every_item(player: str) -> dict[str, str | None]:
    """Outcomes from every log item of the player (not the bounded read the API makes)."""
    items = aws.dynamodb_client().query(
        TableName=get_settings().interactions_table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OFFERRECS#{GAME}#{player}"}},
    )["Items"]
    return {
        f"{item['interaction_id']['S']}/{offer}": item["outcomes"]["M"].get(offer, {}).get("S")
        for item in items
        for offer in item["offers"]["M"]
    }


def test_nothing_expires_before_the_window_nor_before_its_hour_has_ended(model_store):
    # Given an exposure shown at 12:00, due at 12:00 the next day
    show("p1", "int_1", SWORD)

    # When the sweep runs an hour before it is due, and half an hour after (its due hour not over yet)
    early = sweep.run(T0 + DEFAULT_EXPIRY_WINDOW - timedelta(hours=1))
    not_ended = sweep.run(T0 + DEFAULT_EXPIRY_WINDOW + timedelta(minutes=30))

    # Then it is still open and the model untouched: the sweep works in whole hours (worst case ~1 h 15 min late)
    assert (early.expired, not_ended.expired) == (0, 0)
    assert outcomes("p1") == {"int_1/summer_blade_bundle": None}
    assert store.read_model(GAME).stats == {}

    # When the hour has ended
    assert sweep.run(HOUR_ENDED).expired == 1
    # Then it is expired
    assert outcomes("p1") == {"int_1/summer_blade_bundle": "expired"}


def test_exposures_already_converted_or_dismissed_are_left_as_they_are(model_store):
    # Given one recommendation of three offers: one bought, one dismissed, one left without a report
    gold = OfferFeatures("gold_starter_500", 4.99, ("gold",))
    show("p1", "int_1", SWORD, POTIONS, gold)
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "converted").status == "applied"
    assert store.report_outcome(GAME, "p1", POTIONS.offer_id, "dismissed").status == "applied"

    # When the sweep runs after the window
    report = sweep.run(HOUR_ENDED)

    # Then only the unanswered one expired; the reported outcomes are unchanged
    assert report.expired == 1
    assert outcomes("p1") == {
        "int_1/summer_blade_bundle": "converted",
        "int_1/health_pack_10x": "dismissed",
        "int_1/gold_starter_500": "expired",
    }
    assert model_updates() == 3


def test_a_second_sweep_and_a_resweep_of_the_same_hours_change_nothing(model_store):
    # Given two players' exposures expired by a sweep
    show("p1", "int_1", SWORD, POTIONS)
    show("p2", "int_2", SWORD, at=T0 + timedelta(minutes=20))
    assert sweep.run(HOUR_ENDED).expired == 3
    model_after = store.read_model(GAME).stats

    # When the sweep runs again
    again = sweep.run(HOUR_ENDED + timedelta(minutes=15))
    # And when the watermark is moved back over the same hours (an operator re-sweeping them)
    current = watermark()
    assert sweep.save_watermark(current, sweep.Position(store.due_hour(T0)), 0, T0) is not None
    resweep = sweep.run(HOUR_ENDED + timedelta(minutes=30))

    # Then neither changed anything: every expiry is a conditional write on an open exposure
    assert (again.items, again.expired) == (0, 0)
    assert (resweep.items, resweep.players, resweep.expired) == (2, 2, 0)
    assert store.read_model(GAME).stats == model_after
    assert model_updates() == 3


def test_a_conversion_reported_after_the_sweep_still_counts(model_store):
    # Given an exposure the sweep expired
    show("p1", "int_1", SWORD)
    sweep.run(HOUR_ENDED)

    # When the game reports the purchase late
    late = store.report_outcome(GAME, "p1", SWORD.offer_id, "converted")

    # Then it is applied over `expired` (a late purchase, D12), once
    assert (late.status, late.previous_outcome) == ("applied", "expired")
    assert outcomes("p1") == {"int_1/summer_blade_bundle": "converted"}
    assert model_updates() == 2
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "converted").status == "duplicate"


def test_a_player_seen_again_before_the_sweep_is_not_expired_twice(model_store):
    # Given an overdue exposure that the player's next request already expired (store.expire_overdue)
    show("p1", "int_1", SWORD)
    assert store.expire_overdue(GAME, "p1", now=T0 + DEFAULT_EXPIRY_WINDOW) == 1

    # When the sweep reaches its hour
    report = sweep.run(HOUR_ENDED)

    # Then it finds nothing left to expire
    assert (report.players, report.expired) == (1, 0)
    assert model_updates() == 1


# ---- the watermark ----------------------------------------------------------------------------------------------


def test_missed_runs_are_caught_up_hour_by_hour(model_store):
    # Given a first run before anything was due, then players shown over three hours
    assert sweep.run(T0).stopped == sweep.Stop.CAUGHT_UP
    for index in range(3):
        show(f"p{index}", f"int_{index}", SWORD, at=T0 + timedelta(hours=index, minutes=10))

    # When no run happens until three days later
    report = sweep.run(T0 + timedelta(days=3))

    # Then that one run sweeps every hour since the watermark, so all three expired, and it is caught up
    assert (report.expired, report.stopped, report.backlog_hours) == (3, sweep.Stop.CAUGHT_UP, 0)
    assert report.hours == 72
    assert [outcomes(f"p{index}") for index in range(3)] == [
        {f"int_{index}/summer_blade_bundle": "expired"} for index in range(3)
    ]
    assert watermark().position == sweep.Position(store.due_hour(T0 + timedelta(days=3)))


def test_each_run_starts_where_the_last_one_ended(model_store):
    # Given exposures due in consecutive hours and a run after each hour ends
    for index in range(3):
        show(f"p{index}", f"int_{index}", SWORD, at=T0 + timedelta(hours=index, minutes=45))
    reports = [sweep.run(HOUR_ENDED + timedelta(hours=index, minutes=5)) for index in range(3)]

    # Then each run swept exactly the hour that had ended since the previous one (no hour skipped or swept twice)
    assert [(r.items, r.expired) for r in reports] == [(1, 1), (1, 1), (1, 1)]
    assert [r.hours for r in reports[1:]] == [1, 1]
    assert [r.start.split("#")[0] for r in reports[1:]] == ["2026-03-02T13", "2026-03-02T14"]
    assert model_updates() == 3


def test_the_time_bound_leaves_the_rest_for_the_next_run(model_store, monkeypatch):
    # Given six players shown in the same hour
    for index in range(6):
        show(f"p{index}", f"int_{index}", SWORD, at=T0 + timedelta(minutes=index))
    # And a run whose every player expiry takes 100 of its 300 seconds (stopping with less than 30 left)
    spent: list[float] = []
    real_expire = store.expire_overdue

    def slow_expire(*args, **kwargs):
        spent.append(100.0)
        return real_expire(*args, **kwargs)

    monkeypatch.setattr(store, "expire_overdue", slow_expire)

    # When it runs
    first = sweep.run(HOUR_ENDED, time_left=lambda: 300.0 - sum(spent))

    # Then it stopped after three players, saving its place inside their hour
    assert (first.stopped, first.players, first.expired) == (sweep.Stop.TIME, 3, 3)
    assert watermark().position.hour == store.due_hour(T0 + DEFAULT_EXPIRY_WINDOW)
    assert first.backlog_hours == 1

    # When the next run has the time
    second = sweep.run(HOUR_ENDED + timedelta(minutes=15))

    # Then it went on from there: the other three expired, each of the six exactly once
    assert (second.stopped, second.players, second.expired) == (sweep.Stop.CAUGHT_UP, 3, 3)
    assert all(outcomes(f"p{index}") == {f"int_{index}/summer_blade_bundle": "expired"} for index in range(6))
    assert model_updates() == 6


def test_an_overlapping_run_skips_nothing_and_the_superseded_one_stops(model_store, monkeypatch):
    # Given two players due in the same hour
    show("p1", "int_1", SWORD)
    show("p2", "int_2", SWORD, at=T0 + timedelta(minutes=1))
    sweep.run(T0)  # the watermark, before anything is due
    # And a second run that starts and finishes while the first is on its first player
    real_expire = store.expire_overdue
    overlapping: list[sweep.SweepReport] = []
    started: list[bool] = []

    def expire_with_a_run_in_between(*args, **kwargs):
        if not started:
            started.append(True)
            overlapping.append(sweep.run(HOUR_ENDED))
        return real_expire(*args, **kwargs)

    monkeypatch.setattr(store, "expire_overdue", expire_with_a_run_in_between)

    # When the first run goes on
    first = sweep.run(HOUR_ENDED)

    # Then the other run swept everything and the first stopped when it found the watermark moved, so each
    # exposure expired once and the watermark is the other run's
    (other,) = overlapping
    assert (other.stopped, other.expired) == (sweep.Stop.CAUGHT_UP, 2)
    assert first.stopped == sweep.Stop.SUPERSEDED
    assert model_updates() == 2
    assert watermark().position == sweep.Position(store.due_hour(HOUR_ENDED))


def test_a_failed_player_stops_the_run_and_is_retried_then_given_up(model_store, monkeypatch):
    # Given two players due in successive hours, and the first player's expiry failing every time
    show("p1", "int_1", SWORD)
    show("p2", "int_2", SWORD, at=T0 + timedelta(hours=1))
    sweep.run(T0)
    real_expire = store.expire_overdue

    def failing_for_p1(game_id, player_id, *args, **kwargs):
        if player_id == "p1":
            raise store.StoreContended("busy")
        return real_expire(game_id, player_id, *args, **kwargs)

    monkeypatch.setattr(store, "expire_overdue", failing_for_p1)
    later = HOUR_ENDED + timedelta(hours=1)

    # When the sweep runs twice
    runs = [sweep.run(later), sweep.run(later + timedelta(minutes=15))]

    # Then each stopped at that player, leaving the later hour unswept (the next run tries again from there)
    assert [(r.stopped, r.failed, r.expired) for r in runs] == [(sweep.Stop.FAILURE, ["OFFERRECS#ool-mmo#p1"], 0)] * 2
    assert outcomes("p2") == {"int_2/summer_blade_bundle": None}
    assert watermark().attempts == 2

    # When a third run fails on it too
    third = sweep.run(later + timedelta(minutes=30))

    # Then that player is skipped (left to their next request) and the sweep goes on
    assert (third.stopped, third.skipped, third.expired) == (sweep.Stop.CAUGHT_UP, ["OFFERRECS#ool-mmo#p1"], 1)
    assert outcomes("p1") == {"int_1/summer_blade_bundle": None}
    assert outcomes("p2") == {"int_2/summer_blade_bundle": "expired"}

    # And once the failure is gone, that player's next request still expires it
    monkeypatch.undo()
    assert store.expire_overdue(GAME, "p1", now=later) == 1


def test_the_first_run_starts_one_expiry_window_back(model_store):
    # Given no watermark yet, and an exposure already overdue (shown before the sweep existed)
    show("p1", "int_1", SWORD)

    # When the first run happens 20 hours after its window ended
    report = sweep.run(HOUR_ENDED + timedelta(hours=20))

    # Then it started 24 hours back, which covers that hour, and stored where it is
    assert report.start == "2026-03-02T09#0"
    assert report.expired == 1
    assert watermark().position == sweep.Position(datetime(2026, 3, 3, 9, tzinfo=UTC))


# ---- the index entry written by /v2/recommend ----------------------------------------------------------------------


def test_the_index_keys_spread_players_over_the_shards():
    # Given many players of one game
    shards = {store.due_shard(GAME, f"player_{index}") for index in range(200)}
    # Then every shard is used, and a player's shard does not change between processes (not Python's hash())
    assert shards == set(range(store.DUE_SHARDS))
    assert store.due_shard(GAME, "player_8a2f") == store.due_shard(GAME, "player_8a2f")
    assert store.due_partition(datetime(2026, 11, 23, 5, 59, tzinfo=UTC), 3) == "OFFERDUE#2026-11-23T05#3"
    assert store.log_owner("OFFERRECS#ool-mmo#player:8a2f") == ("ool-mmo", "player:8a2f")


# ---- the function -----------------------------------------------------------------------------------------------


def test_the_sweep_function_expires_a_recommendation_of_a_player_who_never_returns(api, tenant_key, fast_transactions):
    # Given a game's offer recommended through /v2/recommend to a player 25 hours ago, no report since
    offers_catalog.forget_catalogs()
    store.forget_models()
    offer = {"offer_id": "gold_500", "name": "Gold", "price_usd": 4.99, "grants": ["gold"]}
    assert api.post(f"/v2/games/{GAME}/offers", headers={"X-API-Key": tenant_key}, json=offer).status == 201
    start = clock.now()
    clock.set_clock(lambda: start - timedelta(hours=25))
    try:
        body = {"game_id": GAME, "player_id": "player_8a2f", "session_context": {"level": 3}}
        shown = api.post("/v2/recommend", headers={"X-API-Key": tenant_key}, json=body)
    finally:
        clock.set_clock(None)
    assert [entry["offer_id"] for entry in shown.json()] == ["gold_500"]
    ((logged, _),) = store.player_exposures(GAME, "player_8a2f")
    (function,) = [fn for fn in scheduled_functions() if fn.logical_id == "OffersExpirySweepFunction"]
    event = json.loads(generate_events.event_path(function).read_text())

    # When EventBridge invokes the sweep function with its Scheduled Event
    report = load_handler(function.code_uri, function.handler)(event, LambdaContext(function.logical_id))

    # Then the exposure expired and the model learnt exactly that one negative
    assert event["detail-type"] == "Scheduled Event"
    assert (report["expired"], report["stopped"], report["failed"]) == (1, "caught_up", [])
    ((exposure, _),) = store.player_exposures(GAME, "player_8a2f")
    assert (exposure.interaction_id, exposure.outcome) == (logged.interaction_id, "expired")
    expected = model.posterior_update(model.ModelState(), exposure.features(), converted=False)
    assert_stats_equal(store.read_model(GAME).stats, expected)
    store.forget_models()
    offers_catalog.forget_catalogs()


def test_the_local_stack_schedules_the_sweep_every_15_minutes():
    schedule = Scheduler(speedup=10).schedules["OffersExpirySweepFunction"]
    assert (schedule.expression, schedule.seconds, schedule.local_seconds) == ("rate(15 minutes)", 900, 90)
