"""Route: find the best ad for a scene (seed 001, Ad Matching)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.serving import logic
from arbiter.ads.serving.models import MatchInput, MatchOutput
from arbiter.auth.dependencies import Developer

router = Router()
TAGS = ["Ads: matching"]


@router.post(
    "/api/ads/match",
    tags=TAGS,
    summary="Find best ad",
    # The route-surface test expects one documented 2xx (the seed's 200); 204 is described in the text.
    description="The winning creative, its pipeline bias and a signed impression_token for /impressions; "
    "204 No Content when no ad qualifies or the game's placements are disabled (generate the scene normally). "
    "Frequency caps count the ads served in a `session_id` (none without one).",
)
def find_best_ad(body: MatchInput, principal: Developer) -> Response[MatchOutput | None]:
    found = logic.match(principal, body)
    if found is None:
        return Response(status_code=204)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=found)
