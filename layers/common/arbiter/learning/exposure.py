"""Shown offers and their outcomes, including the ones that never get one.

A recommendation shows offers; each shown offer (an exposure) gets an outcome: `converted` or `dismissed` when
the game reports it, or `expired` when no report came within the expiry window (DEFAULT_EXPIRY_WINDOW, 24 h: an
offer a player has not bought a day after seeing it counts as not bought). An overdue exposure is resolved when the
player is next seen (/v2/recommend) or, for a player who does not come back, by the expiry sweep
(arbiter.learning.sweep, OffersExpirySweepFunction, every 15 minutes over the UTC hours that have ended): at most
~1 h 15 min after its window ends while the sweep keeps up (docs/decisions.md D12). Only `converted` is final.
Expired exposures teach the model the same thing as a dismissal. A conversion reported after the window, or
after a dismissal, is still applied: the model then holds one negative and one positive for that exposure, a
small bias we accept rather than dropping a purchase.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from arbiter.learning.features import Feature, OfferFeatures, history_features, pair_features

DEFAULT_EXPIRY_WINDOW = timedelta(hours=24)
# How far back a player's history counts: the recommendation log's retention (its TTL), so a history computed
# from a log that DynamoDB has not swept yet equals one from a log that it has.
HISTORY_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Exposure:
    """One offer shown in one recommendation, with what is needed to rebuild its features at feedback time
    (the offer's price and grants as they were when shown, the request's context features and gap match count)."""

    interaction_id: str
    offer: OfferFeatures
    context: tuple[str, ...]
    gap_match: int  # the offer's gap match count when shown (0 = none)
    shown_at: datetime
    outcome: str | None = None

    def features(self) -> list[Feature]:
        return pair_features(self.context, self.offer, self.gap_match)


def overdue(exposures: Iterable[Exposure], now: datetime, window: timedelta = DEFAULT_EXPIRY_WINDOW) -> list[Exposure]:
    """The exposures with no outcome whose window has passed: they are to be resolved as `expired`."""
    return [exposure for exposure in exposures if exposure.outcome is None and exposure.shown_at + window <= now]


def allowed_transition(current: str | None, reported: str) -> bool:
    """Whether a reported outcome may be recorded over the current one: a first outcome, or a conversion over
    `expired` (a late purchase) or over `dismissed` (the player closed the offer, then bought it). Anything else
    (a retry, a dismissal after a purchase) changes nothing; `converted` is final."""
    return current is None or (current in ("expired", "dismissed") and reported == "converted")


def player_history(exposures: Iterable[Exposure], now: datetime, window: timedelta = HISTORY_WINDOW) -> tuple[str, ...]:
    """The player-history context features (features.history_features) from the player's logged exposures:
    the conversions among those shown in the last `window`. One function for the /v2/recommend endpoint (from
    the log it already reads) and the benchmark's in-memory learner, so both see the same features."""
    since = now - window
    return history_features(
        exposure.offer.price_usd
        for exposure in exposures
        if exposure.outcome == "converted" and exposure.shown_at > since
    )
