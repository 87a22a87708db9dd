"""Routes: geo targets and blocklist rules of a campaign (seed 001, Geo Targeting and Blocklist)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.campaigns import targeting
from arbiter.ads.campaigns.targeting_models import (
    BlocklistRuleOutput,
    CreateBlocklistRuleInput,
    CreateGeoTargetInput,
    GeoTargetOutput,
)
from arbiter.auth.dependencies import Advertiser

router = Router()
GEO_TAGS = ["Ads: geo targeting"]
BLOCKLIST_TAGS = ["Ads: blocklist"]


@router.post("/api/ads/campaigns/<id>/geo-targets", status_code=201, tags=GEO_TAGS, summary="Add geo target")
def add_geo_target(id: str, body: CreateGeoTargetInput, principal: Advertiser) -> GeoTargetOutput:
    return targeting.add_geo_target(principal, id, body)


@router.get("/api/ads/campaigns/<id>/geo-targets", tags=GEO_TAGS, summary="List geo targets")
def list_geo_targets(id: str, principal: Advertiser) -> list[GeoTargetOutput]:
    return targeting.list_geo_targets(principal, id)


@router.delete("/api/ads/campaigns/<id>/geo-targets/<tid>", status_code=204, tags=GEO_TAGS, summary="Remove geo target")
def delete_geo_target(id: str, tid: str, principal: Advertiser) -> Response[None]:
    targeting.delete_geo_target(principal, id, tid)
    return Response(status_code=204)


@router.post("/api/ads/campaigns/<id>/blocklist", status_code=201, tags=BLOCKLIST_TAGS, summary="Add blocklist rule")
def add_blocklist_rule(id: str, body: CreateBlocklistRuleInput, principal: Advertiser) -> BlocklistRuleOutput:
    return targeting.add_blocklist_rule(principal, id, body)


@router.get("/api/ads/campaigns/<id>/blocklist", tags=BLOCKLIST_TAGS, summary="List blocklist rules")
def list_blocklist_rules(id: str, principal: Advertiser) -> list[BlocklistRuleOutput]:
    return targeting.list_blocklist_rules(principal, id)


@router.delete(
    "/api/ads/campaigns/<id>/blocklist/<rid>", status_code=204, tags=BLOCKLIST_TAGS, summary="Remove blocklist rule"
)
def delete_blocklist_rule(id: str, rid: str, principal: Advertiser) -> Response[None]:
    targeting.delete_blocklist_rule(principal, id, rid)
    return Response(status_code=204)
