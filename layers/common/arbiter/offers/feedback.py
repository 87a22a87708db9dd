"""POST /v1/feedback: a shown offer's outcome, applied to the learner exactly once.

The outcome goes to the player's most recent exposure to the offer, or to the exposure of the recommendation the
report names (`interaction_id`: then a retry is recognised even after the offer was shown again)
(arbiter.learning.store.report_outcome):
- `applied`: recorded and the model updated; a conversion also counts toward the offer's per-player
  purchase limit and the player's revenue, in the same transaction;
- `duplicate`: that exposure already had its final outcome (a retried report): nothing changes. A conversion
  after a dismissal or an expiry is not a duplicate: it is applied;
- `unmatched`: the offer was never recommended to the player (or its log expired after 30 days): accepted,
  nothing changes, flagged with `X-Feedback-Matched: false`.
Every case answers 200 {"status": "ok"} (the seed's body); the X-Feedback-* headers say which it was.
"""

from dataclasses import dataclass

from arbiter.auth.models import Principal
from arbiter.learning import store
from arbiter.learning.store import FeedbackStatus
from arbiter.offers import repository
from arbiter.offers.models import FeedbackInput, usd_to_millicents
from arbiter.offers.recommend import owned_game


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


def report(principal: Principal, body: FeedbackInput) -> FeedbackReceipt:
    owned_game(principal, body.game_id)
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
    return FeedbackReceipt(result.status, result.interaction_id)
