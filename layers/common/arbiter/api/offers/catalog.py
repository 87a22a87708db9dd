"""Routes: a game's offer catalog (/v2/games/{game_id}/offers), the offers /v2/recommend ranks."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from arbiter.auth.dependencies import OffersClient
from arbiter.offers import catalog as logic
from arbiter.offers.models import (
    ID_MAX,
    ID_PATTERN,
    CreateGameOfferInput,
    GameOfferFields,
    GameOfferListOutput,
    GameOfferOutput,
)
from arbiter.offers.repository import MAX_OFFERS_PER_GAME

router = Router()
TAGS = ["Offers: catalog"]
GameId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
OfferId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]


@router.post(
    "/v2/games/<game_id>/offers",
    status_code=201,
    tags=TAGS,
    summary="Create a game offer",
    description="The first offer created for a game claims the game for the key's tenant; "
    "another tenant's key then gets 403 for it. 409 when the offer_id exists in the game. "
    f"A game has at most {MAX_OFFERS_PER_GAME} offers: 422 beyond, until one is deleted (a PUT takes no slot).",
)
def create_offer(game_id: GameId, body: CreateGameOfferInput, principal: OffersClient) -> GameOfferOutput:
    return logic.create_offer(principal, game_id, body)


@router.get("/v2/games/<game_id>/offers", tags=TAGS, summary="List a game's offers")
def list_offers(game_id: GameId, principal: OffersClient) -> GameOfferListOutput:
    return logic.list_offers(principal, game_id)


@router.get("/v2/games/<game_id>/offers/<offer_id>", tags=TAGS, summary="Get a game offer")
def get_offer(game_id: GameId, offer_id: OfferId, principal: OffersClient) -> GameOfferOutput:
    return logic.get_offer(principal, game_id, offer_id)


@router.put(
    "/v2/games/<game_id>/offers/<offer_id>",
    tags=TAGS,
    summary="Replace a game offer",
    description="The whole offer but its id; 409 when it changed concurrently.",
)
def replace_offer(
    game_id: GameId, offer_id: OfferId, body: GameOfferFields, principal: OffersClient
) -> GameOfferOutput:
    return logic.replace_offer(principal, game_id, offer_id, body)


@router.delete("/v2/games/<game_id>/offers/<offer_id>", status_code=204, tags=TAGS, summary="Delete a game offer")
def delete_offer(game_id: GameId, offer_id: OfferId, principal: OffersClient) -> Response[None]:
    logic.delete_offer(principal, game_id, offer_id)
    return Response(status_code=204)
