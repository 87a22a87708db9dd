"""Route: POST /v2/recommend (seed 000, "Get Personalized Offers")."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.auth.dependencies import OffersClient
from arbiter.offers import recommend as logic
from arbiter.offers.models import RecommendedOffer, RecommendInput

router = Router()
TAGS = ["Offers: recommend"]

DESCRIPTION = """The seed's bare array of `{offer_id, score, rank}`, best first (ranks 1..n); `[]` when no offer
of the game is eligible (status, active window, segment, level range, per-player purchase and daily impression
limits).

- `score`: the learner's expected revenue of showing the offer (posterior-mean P(convert) x price) divided by
  the highest price among the eligible offers, in 0..1; score x that price is the expected USD revenue.
- `rank`: the learner's decision, a Thompson sample, so while it explores a lower rank can carry a higher score.
  Offers the learner already rates as almost surely worse than the best one rank after the others.
- `session_context.segment` is the learner's prior about the player, not a fact: once the player's outcomes
  fit another segment it has learnt better, the player is ranked as that segment. Eligibility (an offer's
  `segments`) always uses the segment the game sent.
- Response header `X-Interaction-Id`: the id this recommendation is logged under (absent when the array is
  empty: nothing was shown, nothing logged). Report outcomes with POST /v1/feedback; an offer shown and not
  reported within 24 h counts as `expired` from the player's next recommend on.
- 404 for a game with no offers ever created, 403 for another tenant's game."""


@router.post(
    "/v2/recommend",
    tags=TAGS,
    summary="Get personalized offers",
    description=DESCRIPTION,
    response_description="Ranked offers; header X-Interaction-Id names the logged recommendation",
)
def recommend(body: RecommendInput, principal: OffersClient) -> Response[list[RecommendedOffer]]:
    result = logic.recommend(principal, body)
    headers = {"X-Interaction-Id": result.interaction_id} if result.interaction_id else None
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=result.offers,
        headers=headers,
    )
