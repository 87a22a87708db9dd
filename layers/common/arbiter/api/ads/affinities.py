"""Routes: affinities of a campaign (seed 001, Affinities)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from arbiter.ads.campaigns import affinities
from arbiter.ads.campaigns.affinity_models import AffinityInput, AffinityOutput, BulkAffinitiesInput
from arbiter.auth.dependencies import Advertiser

router = Router()
TAGS = ["Ads: affinities"]


@router.get("/api/ads/campaigns/<id>/affinities", tags=TAGS, summary="List affinities")
def list_affinities(id: str, principal: Advertiser) -> list[AffinityOutput]:
    return affinities.list_affinities(principal, id)


@router.post("/api/ads/campaigns/<id>/affinities", status_code=201, tags=TAGS, summary="Add affinity")
def add_affinity(id: str, body: AffinityInput, principal: Advertiser) -> AffinityOutput:
    return affinities.add_affinity(principal, id, body)


@router.delete("/api/ads/campaigns/<id>/affinities/<aid>", status_code=204, tags=TAGS, summary="Remove affinity")
def delete_affinity(id: str, aid: str, principal: Advertiser) -> Response[None]:
    affinities.delete_affinity(principal, id, aid)
    return Response(status_code=204)


@router.put("/api/ads/campaigns/<id>/affinities/bulk", tags=TAGS, summary="Bulk replace affinities")
def replace_affinities(id: str, body: BulkAffinitiesInput, principal: Advertiser) -> list[AffinityOutput]:
    return affinities.replace_affinities(principal, id, body)
