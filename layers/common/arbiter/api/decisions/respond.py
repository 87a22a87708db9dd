"""Route: POST /api/v1/respond (outcomes of a recommendation)."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.auth.dependencies import DecisionsClient
from arbiter.decisions import respond as logic
from arbiter.decisions.api_models import RespondInput, RespondOutput

router = Router()
TAGS = ["Decisions: respond"]


@router.post(
    "/api/v1/respond", tags=TAGS, summary="Record an outcome (idempotent per interaction, offer, creative, outcome)"
)
def respond(body: RespondInput, principal: DecisionsClient) -> RespondOutput:
    return logic.respond(principal, body)
