"""POST /v1/feedback: a shown offer's outcome, applied to the learner exactly once.

The outcome goes to the player's most recent exposure to the offer, or to the exposure of the recommendation the
report names (`interaction_id`: then a retry is recognised even after the offer was shown again)
(arbiter.learning.store.report_outcome):
- `applied`: recorded and the model updated; a conversion also counts toward the offer's per-player
  purchase limit and the player's revenue, in the same transaction;
- `duplicate`: that exposure already had its final outcome (a retried report): nothing changes. A conversion
  after a dismissal or an expiry is not a duplicate: it is applied;
- `unmatched`: the offer was never recommended to the player (or its log expired after 30 days, or the
  `interaction_id` given did not show it to them): accepted, flagged with `X-Feedback-Matched: false`, and the
  model does not learn from it (there is no exposure to learn from). A `converted` one still counts toward the
  player's purchases of the offer, so its `max_purchases` holds for a player who bought it in the shop or long
  after it was shown: once, however often it is reported (repository.count_unmatched_purchase: one conditional
  UpdateItem, the `u:<offer_id>` marker; the body has no id, so a retry cannot be told from a second purchase
  outside a recommendation, and both count as one). Only for an offer of the game's catalog (an unknown offer id
  has no limit to keep, and must not grow the player's purchases item). Accepted limit: a conversion counted
  when matched and reported again after its log expired counts twice (the second report cannot be told from a
  later purchase in the shop); with `max_purchases` 1 that changes nothing, above it the offer stops one purchase
  early, never late. Dismissed or expired unmatched reports change nothing.
Every case answers 200 {"status": "ok"} (the seed's body); the X-Feedback-* headers say which it was.
"""

from dataclasses import dataclass

from arbiter.auth.models import Principal
from arbiter.learning import store
from arbiter.learning.store import FeedbackStatus
from arbiter.offers import repository
from arbiter.offers.models import FeedbackInput, FeedbackOutcome, usd_to_millicents
from arbiter.offers.recommend import owned_game
from arbiter.offers.repository import GameCatalog


@dataclass(frozen=True, slots=True)
class FeedbackReceipt:
    status: str  # FeedbackStatus value
    interaction_id: str | None

    @property
    def matched(self) -> bool:
        return self.status != FeedbackStatus.UNMATCHED

    def headers(self) -> dict[str, str]:
        headers = {"X-Feedback-Matched": str(self.matched).lower(), "X-Feedback-Status": self.status}
        if self.interaction_id:
            headers["X-Interaction-Id"] = self.interaction_id
        return headers


def _in_catalog(catalog: GameCatalog, offer_id: str) -> bool:
    """The offer is in the game's catalog (any status): this instance's copy, or a read of that one offer when the
    copy does not have it (an offer created on another instance in the last seconds; one GetItem, not a read of
    the whole catalog, so reports naming unknown offers stay cheap)."""
    return any(offer.offer_id == offer_id for offer in catalog.offers) or repository.offer_exists(
        catalog.game_id, offer_id
    )


def report(principal: Principal, body: FeedbackInput) -> FeedbackReceipt:
    catalog = owned_game(principal, body.game_id)
    revenue = usd_to_millicents(body.revenue_usd) if body.revenue_usd is not None else 0
    result = store.report_outcome(
        body.game_id,
        body.player_id,
        body.offer_id,
        body.outcome.value,
        interaction_id=body.interaction_id,
        # In the learner's exactly-once transaction: a retried report never counts a purchase twice.
        on_conversion=[repository.purchase_update(body.game_id, body.player_id, body.offer_id, revenue)],
    )
    if (
        result.status == FeedbackStatus.UNMATCHED
        and body.outcome is FeedbackOutcome.CONVERTED
        and _in_catalog(catalog, body.offer_id)
    ):
        # The player bought it outside a recommendation: counted toward the limit once; the model is not touched.
        repository.count_unmatched_purchase(body.game_id, body.player_id, body.offer_id, revenue)
    return FeedbackReceipt(result.status, result.interaction_id)
