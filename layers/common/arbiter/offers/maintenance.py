"""Scheduled upkeep of the game offers' learner state (OffersExpirySweepFunction, every 15 minutes; D12).

One run is the learner's expiry sweep (arbiter.learning.sweep) and then, for each game the sweep visited (the games
with recommendations in the hours it swept), the prune of the weights of offers no longer in the game's catalog:
the `O#` items of the game's model (learning.store.prune_offer_weights), which deleting an offer does not touch.
Without it a game that rotates offers keeps every deleted offer's item, read by every model refresh, for ever, and
an offer created again under a deleted id inherits the old offer's weights.

Any status counts as in the catalog (a paused offer keeps what it learnt). A game nobody claims has nothing pruned.
The catalog is read after the model's keys (store.prune_offer_weights says why) and straight from DynamoDB (one
consistent Query, not this instance's cached copy). A game is visited in every hour that has recommendations, so a
deleted offer's item goes at most ~1 h 15 min after the delete while the game is served; an outcome reported later
for a showing made before the delete (feedback, or the sweep's own `expired`) writes a small item again, which the
next visit removes. A game with no recommendations since is not visited: its items stay until it is served again,
and they grow only by the late outcomes of showings the 30-day log still holds.

The prune comes after the sweep and stops when less than PRUNE_STOP_MARGIN_SECONDS (at most a quarter of the time
the run started with) is left; the games it did not reach are pruned when a run visits them again. A game whose
prune fails is logged and counted, and the run goes on with the next game.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime

from arbiter.learning import store, sweep
from arbiter.observability import logger
from arbiter.offers import repository

PRUNE_STOP_MARGIN_SECONDS = 10.0


@dataclass
class MaintenanceReport:
    """What one run did: the sweep's report and the prune's counts (the function's response and its metrics)."""

    sweep: sweep.SweepReport
    pruned: int = 0  # `O#` items of offers not in their game's catalog deleted
    prune_games: int = 0  # games whose model was checked
    prune_failed: list[str] = field(default_factory=list)  # games whose prune failed (logged; tried again later)
    prune_left: int = 0  # games the run had no time left to check

    def as_dict(self) -> dict:
        prune = {item.name: getattr(self, item.name) for item in fields(self) if item.name != "sweep"}
        return {**self.sweep.as_dict(), **prune}


def prune_deleted_offers(game_id: str) -> int:
    """Delete the model items (`O#`) of the game's offers that are not in its catalog; returns how many."""

    def live_offer_ids() -> list[str] | None:
        catalog = repository.read_catalog(game_id)
        return None if catalog is None else [offer.offer_id for offer in catalog.offers]

    return store.prune_offer_weights(game_id, live_offer_ids)


def run_expiry_sweep(now: datetime | None = None, *, time_left: Callable[[], float] | None = None) -> MaintenanceReport:
    """The expiry sweep (sweep.run, same arguments), then the prune of every game it visited while time is left."""
    budget = sweep.Budget(time_left, PRUNE_STOP_MARGIN_SECONDS, share=0.25)
    report = MaintenanceReport(sweep.run(now, time_left=time_left))
    games = report.sweep.games
    for index, game_id in enumerate(games):
        if budget.spent():
            report.prune_left = len(games) - index
            break
        try:
            report.pruned += prune_deleted_offers(game_id)
        except Exception:
            logger.exception(
                "pruning a game's deleted offers failed; a later run tries again", extra={"game_id": game_id}
            )
            report.prune_failed.append(game_id)
            continue
        report.prune_games += 1
    return report
