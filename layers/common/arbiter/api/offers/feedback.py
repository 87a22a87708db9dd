"""Route: POST /v1/feedback (seed 000, "Report Outcome")."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.auth.dependencies import OffersClient
from arbiter.offers import feedback as logic
from arbiter.offers.models import FeedbackInput, FeedbackOutput

router = Router()
TAGS = ["Offers: feedback"]

DESCRIPTION = """Always `{"status": "ok"}` (the seed's body) for a valid report; what happened is in headers:

- `X-Feedback-Matched`: `true` when the offer was recommended to the player (the outcome applies to their most
  recent exposure to it, or to the one of `interaction_id` when given), `false` when it never was (or that log is
  over 30 days old, or `interaction_id` did not show it to this player): accepted, nothing learned. An unmatched
  `converted` report still counts toward the player's purchases of the offer (its `max_purchases`), once however
  often it is reported: the player bought it outside a recommendation.
- `X-Feedback-Status`: `applied` (the model learned from it), `duplicate` (a retry or a later report for an
  exposure that already has its final outcome: counted once), `unmatched`.
- `X-Interaction-Id`: the recommendation the outcome was matched to.

`revenue_usd` is required when `outcome` is `converted` (422 otherwise) and not allowed above 0 for the other
outcomes. A conversion may follow an `expired` (a late purchase) or a `dismissed` (bought after closing the offer)
and is then still counted. Send the recommendation's `X-Interaction-Id` as `interaction_id` to make retries exact:
without it, a retry that arrives after the offer was shown to the player again is taken as a report for the new
showing. 503 with Retry-After when the game's model stayed contended through every retry: nothing was recorded,
retry the report."""


@router.post(
    "/v1/feedback",
    tags=TAGS,
    summary="Report outcome",
    description=DESCRIPTION,
    response_description='{"status": "ok"}; headers X-Feedback-Matched, X-Feedback-Status, X-Interaction-Id',
)
def feedback(body: FeedbackInput, principal: OffersClient) -> Response[FeedbackOutput]:
    receipt = logic.report(principal, body)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=FeedbackOutput(status="ok"),
        headers=receipt.headers(),
    )
