"""Routes: creatives (seed 001, Creatives)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.campaigns import creatives
from arbiter.ads.campaigns.creative_models import CreateCreativeInput, CreativeOutput, UpdateCreativeInput
from arbiter.auth.dependencies import Advertiser

router = Router()
TAGS = ["Ads: creatives"]


@router.post("/api/ads/campaigns/<id>/creatives", status_code=201, tags=TAGS, summary="Create creative")
def create_creative(id: str, body: CreateCreativeInput, principal: Advertiser) -> CreativeOutput:
    return creatives.create_creative(principal, id, body)


@router.get("/api/ads/campaigns/<id>/creatives", tags=TAGS, summary="List creatives")
def list_creatives(id: str, principal: Advertiser) -> list[CreativeOutput]:
    return creatives.list_creatives(principal, id)


@router.patch("/api/ads/creatives/<id>", tags=TAGS, summary="Update creative")
def update_creative(id: str, body: UpdateCreativeInput, principal: Advertiser) -> CreativeOutput:
    return creatives.update_creative(principal, id, body)


@router.delete("/api/ads/creatives/<id>", status_code=204, tags=TAGS, summary="Delete creative")
def delete_creative(id: str, principal: Advertiser) -> Response[None]:
    creatives.delete_creative(principal, id)
    return Response(status_code=204)
