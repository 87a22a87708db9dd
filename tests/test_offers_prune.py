"""Deleted offers' learner weights (docs/decisions.md D12, "Deleted offers"): the expiry sweep's run removes the model
item (`O#<offer>`) of every offer no longer in its game's catalog, so a game that rotates offers does not grow its
model (read on every refresh) without bound, and an offer created again under a deleted id starts from the priors."""

from datetime import UTC, datetime, timedelta

import pytest

from arbiter import aws, clock
from arbiter.learning import model, store
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, Exposure
from arbiter.learning.features import OfferFeatures, context_features, pair_features
from arbiter.offers import maintenance
from arbiter.offers import repository as offers_repository
from arbiter.offers.models import CreateGameOfferInput, GameOfferItem
from arbiter.settings import get_settings

GAME = "ool-mmo"
TENANT = "tenant-a"
SWORD = OfferFeatures("summer_blade_bundle", 9.99, ("legendary_sword", "weapons"))
POTIONS = OfferFeatures("health_pack_10x", 4.99, ("health_pack",))
CONTEXT = context_features({"level": 34, "minutes_played": 18, "segment": "mid-spender"})
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # shown at; its exposures are due at 12:00 the next day
HOUR_ENDED = T0 + DEFAULT_EXPIRY_WINDOW + timedelta(hours=1)  # the first run after their due hour has ended


@pytest.fixture
def model_store(dynamodb, fast_transactions):
    store.forget_models()
    yield dynamodb
    store.forget_models()


def add_offer(offer: OfferFeatures, status: str = "active") -> None:
    fields = {
        "offer_id": offer.offer_id,
        "name": offer.offer_id,
        "price_usd": offer.price_usd,
        "grants": list(offer.grants),
        "status": status,
    }
    now = clock.now_iso()
    item = GameOfferItem.from_fields(GAME, offer.offer_id, CreateGameOfferInput.model_validate(fields), now, now)
    offers_repository.create_offer(TENANT, item)


def delete_offer(offer: OfferFeatures) -> None:
    offers_repository.delete_offer(GAME, TENANT, offer.offer_id)


def show(player: str, interaction: str, *offers: OfferFeatures, at: datetime = T0, game: str = GAME) -> None:
    store.record_recommendation(game, player, [Exposure(interaction, offer, CONTEXT, 0, at) for offer in offers])


def model_items(game: str = GAME) -> dict[str, dict]:
    items = aws.dynamodb_client().query(
        TableName=get_settings().interactions_table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OFFERMODEL#{game}"}},
    )["Items"]
    return {item["SK"]["S"]: item for item in items}


def own_features(offer: OfferFeatures) -> list[model.Feature]:
    """The offer's features stored in its own `O#` item as these tests show it (id weight, context crosses)."""
    group = store.offer_group(offer.offer_id)
    features = pair_features(CONTEXT, offer, 0)  # as shown here: no gap match
    return [feature for feature in features if store.feature_group(feature.name) == group]


def at_prior(state: model.ModelState, feature: model.Feature) -> bool:
    prior = model.PRIORS[feature.kind]
    return state.moments(feature) == (prior.mean, prior.variance)


def test_a_deleted_offers_item_is_pruned_and_its_id_created_again_starts_from_the_prior(model_store):
    # Given two offers of a game, both learnt: the player bought one and dismissed the other
    add_offer(SWORD)
    add_offer(POTIONS)
    show("p1", "int_1", SWORD, POTIONS)
    assert store.report_outcome(GAME, "p1", SWORD.offer_id, "converted").status == "applied"
    assert store.report_outcome(GAME, "p1", POTIONS.offer_id, "dismissed").status == "applied"
    before = model_items()
    assert {"S", "O#summer_blade_bundle", "O#health_pack_10x", "G#health_pack"} <= set(before)
    cached = store.load_model(GAME)  # this instance holds the model, the potions' weights in it
    assert not any(at_prior(cached, feature) for feature in own_features(POTIONS))

    # When the potions are deleted and the sweep runs once their showing's hour has ended
    delete_offer(POTIONS)
    report = maintenance.run_expiry_sweep(HOUR_ENDED)

    # Then the sweep visited the game and removed the deleted offer's item, and only it: the other offer's item and
    # the shared S / P# / G# items (the grant and price band it learnt included) are as they were
    assert report.sweep.games == [GAME]
    assert (report.pruned, report.prune_games, report.prune_failed) == (1, 1, [])
    after = model_items()
    assert set(after) == set(before) - {"O#health_pack_10x"}
    assert after == {group: item for group, item in before.items() if group != "O#health_pack_10x"}
    # And a model read (this instance's cached copy was dropped) holds no feature of it
    assert not [name for name in store.load_model(GAME).stats if "o=health_pack_10x" in name]
    assert not [name for name in store.read_model(GAME).stats if "o=health_pack_10x" in name]

    # When an offer is created again under that id
    add_offer(POTIONS)
    # Then its own weights are the cold-start priors, while the offer still there kept what it learnt
    state = store.load_model(GAME)
    assert all(at_prior(state, feature) for feature in own_features(POTIONS))
    assert not any(at_prior(state, feature) for feature in own_features(SWORD))


def test_offers_in_the_catalog_keep_their_items_whatever_their_status_and_however_long_their_id(model_store):
    # Given a paused offer, an archived one and one whose 64-character id is clipped in its feature names, all learnt
    paused = OfferFeatures("winter_pack", 1.99, ("gold",))
    archived = OfferFeatures("autumn_pack", 2.99, ("gold",))
    long_id = OfferFeatures("x" * 60 + "_v02", 3.99, ("gold",))
    deleted = OfferFeatures("x" * 60 + "_v01", 3.99, ("gold",))  # shares the live one's first 48 characters
    for offer, status in ((paused, "paused"), (archived, "archived"), (long_id, "active"), (deleted, "active")):
        add_offer(offer, status)
    show("p1", "int_1", paused, archived, long_id, deleted)
    assert store.offer_group(long_id.offer_id) != store.offer_group(deleted.offer_id)
    delete_offer(deleted)

    # When the sweep runs (the four exposures expire, then the game is pruned)
    report = maintenance.run_expiry_sweep(HOUR_ENDED)

    # Then only the deleted offer's item went
    assert (report.sweep.expired, report.pruned) == (4, 1)
    offer_items = {group for group in model_items() if group.startswith("O#")}
    assert offer_items == {store.offer_group(offer.offer_id) for offer in (paused, archived, long_id)}


def test_an_item_updated_after_the_prune_read_it_is_left_for_the_next_run(model_store, monkeypatch):
    # Given a deleted offer's learnt item
    add_offer(SWORD)
    add_offer(POTIONS)
    show("p1", "int_1", SWORD, POTIONS)
    assert store.report_outcome(GAME, "p1", POTIONS.offer_id, "dismissed").status == "applied"
    delete_offer(POTIONS)
    # And an outcome for it (the player buys after dismissing) written after the prune read the model's keys:
    # the catalog is read between that read and the deletes
    read_catalog = offers_repository.read_catalog

    def catalog_with_a_concurrent_outcome(game_id):
        assert store.report_outcome(GAME, "p1", POTIONS.offer_id, "converted").status == "applied"
        return read_catalog(game_id)

    monkeypatch.setattr(offers_repository, "read_catalog", catalog_with_a_concurrent_outcome)

    # When the game is pruned
    pruned = maintenance.prune_deleted_offers(GAME)

    # Then the item is kept (its `updates` moved from what was read), with both outcomes in it
    assert pruned == 0
    assert model_items()["O#health_pack_10x"]["updates"] == {"N": "2"}

    # When the game is pruned again with nothing written meanwhile
    monkeypatch.undo()
    # Then it goes
    assert maintenance.prune_deleted_offers(GAME) == 1
    assert "O#health_pack_10x" not in model_items()


def test_a_late_outcome_after_the_prune_writes_a_small_item_that_the_next_run_removes(model_store):
    # Given an offer shown to a player at T0 and deleted an hour later
    add_offer(SWORD)
    add_offer(POTIONS)
    show("p1", "int_1", SWORD, POTIONS)
    delete_offer(POTIONS)
    # And the game still served in the next hour (another player, the sword only)
    show("p2", "int_2", SWORD, at=T0 + timedelta(hours=1))

    # When the sweep runs after the first showing's hour: its two exposures expire (the potions' `expired` is an
    # outcome after the delete), then the game is pruned
    first = maintenance.run_expiry_sweep(HOUR_ENDED)

    # Then the item the sweep's own expiry wrote is gone
    assert (first.sweep.expired, first.pruned) == (2, 1)
    assert "O#health_pack_10x" not in model_items()

    # When the player's purchase of the deleted offer is reported late (expired -> converted is a late purchase)
    late = store.report_outcome(GAME, "p1", POTIONS.offer_id, "converted")

    # Then it is applied and writes the item again, holding that one outcome only: a few attributes, not the
    # old offer's learnt weights
    assert late.status == "applied"
    recreated = model_items()["O#health_pack_10x"]
    assert recreated["updates"] == {"N": "1"}
    assert len(recreated) <= 3 + 2 * len(own_features(POTIONS))  # PK, SK, updates, q:/e: per own feature

    # When the next run sweeps the following hour (the game served in it)
    second = maintenance.run_expiry_sweep(HOUR_ENDED + timedelta(hours=1))

    # Then the game is pruned again and the item removed: late outcomes cannot make it grow
    assert (second.sweep.games, second.sweep.expired, second.pruned) == ([GAME], 1, 1)
    assert {group for group in model_items() if group.startswith("O#")} == {"O#summer_blade_bundle"}


def test_a_game_nobody_claims_has_nothing_pruned(model_store):
    # Given a model and recommendations of a game with no catalog (never claimed)
    show("p1", "int_1", SWORD, game="unclaimed-game")
    report = maintenance.run_expiry_sweep(HOUR_ENDED)  # expires the exposure: the model gets its O# item
    # Then its model is left as it is: there is no catalog to tell deleted offers from live ones
    assert (report.sweep.games, report.sweep.expired, report.pruned) == (["unclaimed-game"], 1, 0)
    assert "O#summer_blade_bundle" in model_items("unclaimed-game")


def test_the_prune_stops_when_the_runs_time_is_nearly_up(model_store, monkeypatch):
    # Given a deleted offer's item and a run whose sweep leaves it 5 of its 300 seconds
    add_offer(SWORD)
    add_offer(POTIONS)
    show("p1", "int_1", SWORD, POTIONS)
    delete_offer(POTIONS)
    remaining = [300.0]
    real_run = maintenance.sweep.run

    def slow_sweep(*args, **kwargs):
        report = real_run(*args, **kwargs)
        remaining[0] = 5.0
        return report

    monkeypatch.setattr(maintenance.sweep, "run", slow_sweep)

    # When it runs
    report = maintenance.run_expiry_sweep(HOUR_ENDED, time_left=lambda: remaining[0])

    # Then it left the game for a later run rather than overrun its time
    assert (report.sweep.expired, report.pruned, report.prune_games, report.prune_left) == (2, 0, 0, 1)
    assert "O#health_pack_10x" in model_items()
    assert report.as_dict()["prune_left"] == 1
