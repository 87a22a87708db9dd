"""Routes: campaigns (seed 001, Campaigns)."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.campaigns import logic
from arbiter.ads.campaigns.models import CampaignOutput, CreateCampaignInput, UpdateCampaignInput
from arbiter.auth.dependencies import Advertiser

router = Router()
TAGS = ["Ads: campaigns"]


@router.post("/api/ads/campaigns", status_code=201, tags=TAGS, summary="Create campaign")
def create_campaign(body: CreateCampaignInput, principal: Advertiser) -> CampaignOutput:
    return logic.create_campaign(principal, body)


@router.get("/api/ads/campaigns", tags=TAGS, summary="List campaigns (newest first)")
def list_campaigns(principal: Advertiser) -> list[CampaignOutput]:
    return logic.list_campaigns(principal)


@router.get("/api/ads/campaigns/<id>", tags=TAGS, summary="Get campaign detail")
def get_campaign(id: str, principal: Advertiser) -> CampaignOutput:
    return logic.get_campaign(principal, id)


@router.patch("/api/ads/campaigns/<id>", tags=TAGS, summary="Update campaign")
def update_campaign(id: str, body: UpdateCampaignInput, principal: Advertiser) -> CampaignOutput:
    return logic.update_campaign(principal, id, body)


@router.post("/api/ads/campaigns/<id>/activate", tags=TAGS, summary="Activate campaign")
def activate_campaign(id: str, principal: Advertiser) -> CampaignOutput:
    return logic.activate_campaign(principal, id)


@router.post("/api/ads/campaigns/<id>/pause", tags=TAGS, summary="Pause campaign")
def pause_campaign(id: str, principal: Advertiser) -> CampaignOutput:
    return logic.pause_campaign(principal, id)
