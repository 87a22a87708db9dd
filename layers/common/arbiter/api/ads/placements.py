"""Routes: developer placements per game (seed 001, Placements (Developer))."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from arbiter.ads.placements import logic
from arbiter.ads.placements.models import (
    GAME_ID_MAX,
    GAME_ID_PATTERN,
    EnablePlacementInput,
    PlacementOutput,
    UpdatePlacementInput,
)
from arbiter.auth.dependencies import Developer

router = Router()
TAGS = ["Ads: placements"]

GameId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=GAME_ID_MAX,
        pattern=GAME_ID_PATTERN,
        description="Your game's identifier: 1-128 characters of letters, digits, '_', '.', '-'",
    ),
]


@router.post("/api/ads/placements/<game_id>", status_code=201, tags=TAGS, summary="Enable placements")
def enable_placements(game_id: GameId, body: EnablePlacementInput, principal: Developer) -> PlacementOutput:
    return logic.enable(principal, game_id, body)


@router.get("/api/ads/placements/<game_id>", tags=TAGS, summary="Get placement")
def get_placement(game_id: GameId, principal: Developer) -> PlacementOutput:
    return logic.get(principal, game_id)


@router.patch("/api/ads/placements/<game_id>", tags=TAGS, summary="Update placement")
def update_placement(game_id: GameId, body: UpdatePlacementInput, principal: Developer) -> PlacementOutput:
    return logic.update(principal, game_id, body)


@router.delete(
    "/api/ads/placements/<game_id>",
    status_code=204,
    tags=TAGS,
    summary="Disable placements",
    responses={204: {"description": "Placements disabled; configuration kept", "content": {}}},
)
def disable_placements(game_id: GameId, principal: Developer) -> Response[None]:
    logic.disable(principal, game_id)
    return Response(status_code=204)
