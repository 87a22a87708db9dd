"""Affinities of a campaign: a map inside the campaign item, capped at 50 by the write's own condition."""

from arbiter import clock, ids
from arbiter.ads.campaigns import repository
from arbiter.ads.campaigns.affinity_models import (
    AffinityDoc,
    AffinityInput,
    AffinityOutput,
    BulkAffinitiesInput,
)
from arbiter.ads.campaigns.logic import (
    RETRY_DETAIL,
    add_child,
    next_position,
    owned_campaign,
    recheck_owned,
    remove_child,
)
from arbiter.ads.campaigns.repository import ChildMap, WriteRefused
from arbiter.auth.models import Principal
from arbiter.errors import ConflictError


def _output(campaign_id: str, doc: AffinityDoc) -> AffinityOutput:
    return AffinityOutput(campaign_id=campaign_id, **doc.model_dump(exclude={"position"}))


def list_affinities(principal: Principal, campaign_id: str) -> list[AffinityOutput]:
    campaign, _ = owned_campaign(principal, campaign_id)
    docs = sorted(campaign.affinities.values(), key=lambda doc: (doc.created_at, doc.position, doc.id))
    return [_output(campaign_id, doc) for doc in docs]


def add_affinity(principal: Principal, campaign_id: str, request: AffinityInput) -> AffinityOutput:
    campaign, _ = owned_campaign(principal, campaign_id)
    doc = AffinityDoc(
        id=ids.new_id("aff"),
        **request.model_dump(),
        created_at=clock.now_iso(),
        position=next_position(campaign.affinities.values()),
    )
    add_child(principal, campaign, ChildMap.AFFINITIES, doc.model_dump())  # capped at 50 (campaigns.content)
    return _output(campaign_id, doc)


def delete_affinity(principal: Principal, campaign_id: str, affinity_id: str) -> None:
    remove_child(principal, campaign_id, ChildMap.AFFINITIES, affinity_id, "Affinity not found")


def replace_affinities(principal: Principal, campaign_id: str, request: BulkAffinitiesInput) -> list[AffinityOutput]:
    """Every item was validated before this runs, and the new set replaces the old in one write."""
    owned_campaign(principal, campaign_id)
    created_at = clock.now_iso()
    docs = [
        AffinityDoc(id=ids.new_id("aff"), **affinity.model_dump(), created_at=created_at, position=position)
        for position, affinity in enumerate(request.affinities, start=1)
    ]
    try:
        repository.replace_children(
            campaign_id, principal.tenant_id, ChildMap.AFFINITIES, {doc.id: doc.model_dump() for doc in docs}
        )
    except WriteRefused:
        recheck_owned(principal, campaign_id)
        raise ConflictError(RETRY_DETAIL) from None
    return [_output(campaign_id, doc) for doc in docs]
