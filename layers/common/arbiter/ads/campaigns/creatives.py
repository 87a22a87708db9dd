"""Creatives: entries of the campaign item's `creatives` map, each with a pointer item (CREATIVE#<crt_id>) so
/api/ads/creatives/{id} finds its campaign. Creative and pointer are always written and deleted together."""

from arbiter import clock, ids
from arbiter.ads.campaigns import repository
from arbiter.ads.campaigns.content import MAX_CHILDREN, ensure_room, too_many
from arbiter.ads.campaigns.creative_models import (
    CLEARABLE_CREATIVE_FIELDS,
    CreateCreativeInput,
    CreativeDoc,
    CreativeOutput,
    CreativePointerItem,
    CreativeType,
    UpdateCreativeInput,
)
from arbiter.ads.campaigns.fields import looks_like_id, refuse_nulls
from arbiter.ads.campaigns.logic import RETRY_DETAIL, next_position, owned_campaign, recheck_owned
from arbiter.ads.campaigns.models import CampaignStatus, LedgerItem
from arbiter.ads.campaigns.repository import ChildMap, WriteRefused
from arbiter.auth.models import Principal
from arbiter.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError

CREATIVE_NOT_FOUND = "Creative not found"


def _output(campaign_id: str, doc: CreativeDoc, ledger: LedgerItem) -> CreativeOutput:
    return CreativeOutput(
        campaign_id=campaign_id,
        impressions=ledger.creative_impressions.get(doc.id, 0),
        **doc.model_dump(exclude={"position", "updated_at"}),
    )


def _owned_pointer(principal: Principal, creative_id: str) -> CreativePointerItem:
    pointer = repository.get_creative_pointer(creative_id) if looks_like_id("crt", creative_id) else None
    if pointer is None:
        raise NotFoundError(CREATIVE_NOT_FOUND)
    if pointer.tenant_id != principal.tenant_id:
        raise ForbiddenError("This creative belongs to another advertiser")
    return pointer


def create_creative(principal: Principal, campaign_id: str, request: CreateCreativeInput) -> CreativeOutput:
    campaign, ledger = owned_campaign(principal, campaign_id)
    doc = CreativeDoc(
        id=ids.new_id("crt"),
        **request.model_dump(),
        created_at=clock.now_iso(),
        position=next_position(campaign.creatives.values()),
    )
    ensure_room(campaign, ChildMap.CREATIVES, doc.model_dump(exclude_none=True))
    pointer = CreativePointerItem(creative_id=doc.id, campaign_id=campaign_id, tenant_id=principal.tenant_id)
    limit = MAX_CHILDREN[ChildMap.CREATIVES]
    try:
        repository.add_creative(campaign_id, principal.tenant_id, doc, pointer, max_creatives=limit)
    except WriteRefused:
        if len(recheck_owned(principal, campaign_id).creatives) >= limit:
            raise too_many(ChildMap.CREATIVES) from None
        raise ConflictError(RETRY_DETAIL) from None
    return _output(campaign_id, doc, ledger)


def list_creatives(principal: Principal, campaign_id: str) -> list[CreativeOutput]:
    campaign, ledger = owned_campaign(principal, campaign_id)
    docs = sorted(campaign.creatives.values(), key=lambda doc: (doc.created_at, doc.position, doc.id))
    return [_output(campaign_id, doc, ledger) for doc in docs]


def update_creative(principal: Principal, creative_id: str, request: UpdateCreativeInput) -> CreativeOutput:
    changes = request.model_dump(exclude_unset=True)
    refuse_nulls(changes, CLEARABLE_CREATIVE_FIELDS)
    pointer = _owned_pointer(principal, creative_id)
    campaign, ledger = owned_campaign(principal, pointer.campaign_id)
    current = campaign.creatives.get(creative_id)
    if current is None:
        raise NotFoundError(CREATIVE_NOT_FOUND)
    if (
        current.creative_type is CreativeType.NARRATIVE_HOOK
        and "narrative_hook" in changes
        and not changes["narrative_hook"]
    ):
        raise BadRequestError("narrative_hook cannot be null on a narrative_hook creative")
    if not changes:
        return _output(campaign.id, current, ledger)
    stored = current.model_dump(exclude_none=True)
    updated_doc = {name: value for name, value in {**stored, **changes}.items() if value is not None}
    ensure_room(campaign, ChildMap.CREATIVES, updated_doc, replaces=stored)
    try:
        updated = repository.update_creative(
            campaign.id,
            principal.tenant_id,
            creative_id,
            set_fields={name: value for name, value in changes.items() if value is not None},
            remove_fields=[name for name, value in changes.items() if value is None],
            now=clock.now_iso(),
        )
    except WriteRefused:
        if creative_id not in recheck_owned(principal, campaign.id).creatives:
            raise NotFoundError(CREATIVE_NOT_FOUND) from None
        raise ConflictError(RETRY_DETAIL) from None
    return _output(campaign.id, updated, ledger)


def delete_creative(principal: Principal, creative_id: str) -> None:
    pointer = _owned_pointer(principal, creative_id)
    try:
        repository.delete_creative(pointer.campaign_id, principal.tenant_id, creative_id)
    except WriteRefused:
        campaign = recheck_owned(principal, pointer.campaign_id)
        if creative_id not in campaign.creatives:
            raise NotFoundError(CREATIVE_NOT_FOUND) from None
        if campaign.status is CampaignStatus.ACTIVE and len(campaign.creatives) <= 1:
            raise ConflictError(
                "Cannot delete the last creative of an active campaign; add another creative or pause it first"
            ) from None
        raise ConflictError(RETRY_DETAIL) from None
