"""Campaign lifecycle (create, list, get, update, activate, pause) and the ownership rule of every campaign route.

Ownership (decisions D4): an unknown campaign is 404, another tenant's is 403. Writes are also conditioned on
the caller's tenant_id; when one is refused, `recheck_owned` reads again so the caller hears the real reason.
"""

from collections.abc import Iterable
from typing import Any, Protocol

from arbiter import clock, ids
from arbiter.ads.advertisers.logic import get_advertiser
from arbiter.ads.budget import budget_cannot_pay_one_impression
from arbiter.ads.campaigns import repository
from arbiter.ads.campaigns.content import MAX_CHILDREN, ensure_room, too_many
from arbiter.ads.campaigns.fields import (
    ensure_end_after_start,
    ensure_limits_cover_one_impression,
    looks_like_id,
    refuse_nulls,
)
from arbiter.ads.campaigns.models import (
    CLEARABLE_CAMPAIGN_FIELDS,
    CampaignItem,
    CampaignOutput,
    CampaignStatus,
    CreateCampaignInput,
    LedgerItem,
    UpdateCampaignInput,
)
from arbiter.ads.campaigns.repository import ChildMap, WriteRefused
from arbiter.auth.models import Principal
from arbiter.errors import BusinessRuleError, ConflictError, ForbiddenError, NotFoundError
from arbiter.money import cents_to_millicents, impression_charge_millicents, millicents_to_cents

CAMPAIGN_NOT_FOUND = "Campaign not found"
RETRY_DETAIL = "The campaign changed while this request was being applied; retry"
COMPLETED_DETAIL = "Campaign has completed (its end_date passed); create a new campaign to run again"


# ---- ownership -----------------------------------------------------------------------------------------------


def owned_campaign(principal: Principal, campaign_id: str) -> tuple[CampaignItem, LedgerItem]:
    found = repository.get(campaign_id) if looks_like_id("camp", campaign_id) else None
    if found is None:
        raise NotFoundError(CAMPAIGN_NOT_FOUND)
    if found[0].tenant_id != principal.tenant_id:
        raise ForbiddenError("This campaign belongs to another advertiser")
    return found


def recheck_owned(principal: Principal, campaign_id: str) -> CampaignItem:
    """After a refused write: 404/403 if the campaign is gone or foreign, else its fresh state, from which the
    caller names the rule that refused the write."""
    return owned_campaign(principal, campaign_id)[0]


# ---- embedded children, shared by geo targets, blocklist rules and affinities ---------------------------------


class _Positioned(Protocol):
    position: int


def next_position(siblings: Iterable[_Positioned]) -> int:
    """Children list in creation order; timestamps have one-second resolution, so each child also gets a rank."""
    return max((sibling.position for sibling in siblings), default=0) + 1


def add_child(principal: Principal, campaign: CampaignItem, child_map: ChildMap, doc: dict[str, Any]) -> None:
    """Adds a geo target, blocklist rule or affinity to the campaign just read, within what a campaign may hold
    (campaigns.content: the count cap, held by the write's condition, and the byte budget)."""
    ensure_room(campaign, child_map, doc)
    try:
        repository.put_child(campaign.id, principal.tenant_id, child_map, doc, max_children=MAX_CHILDREN[child_map])
    except WriteRefused:
        if len(getattr(recheck_owned(principal, campaign.id), child_map.value)) >= MAX_CHILDREN[child_map]:
            raise too_many(child_map) from None
        raise ConflictError(RETRY_DETAIL) from None


def remove_child(
    principal: Principal, campaign_id: str, child_map: ChildMap, child_id: str, not_found_detail: str
) -> None:
    campaign, _ = owned_campaign(principal, campaign_id)
    if child_id not in getattr(campaign, child_map.value):
        raise NotFoundError(not_found_detail)
    try:
        repository.remove_child(campaign_id, principal.tenant_id, child_map, child_id)
    except WriteRefused:
        recheck_owned(principal, campaign_id)
        raise NotFoundError(not_found_detail) from None  # removed by a concurrent request


# ---- campaigns -----------------------------------------------------------------------------------------------


def to_output(campaign: CampaignItem, ledger: LedgerItem) -> CampaignOutput:
    daily_cap = campaign.daily_cap_millicents
    return CampaignOutput(
        id=campaign.id,
        advertiser_id=campaign.advertiser_id,
        name=campaign.name,
        status=campaign.status,
        budget_cents=millicents_to_cents(campaign.budget_millicents),
        spent_cents=millicents_to_cents(ledger.spent_millicents),
        cpm_bid_cents=campaign.cpm_bid_cents,
        daily_cap_cents=millicents_to_cents(daily_cap) if daily_cap is not None else None,
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        priority=campaign.priority,
        target_categories=campaign.target_categories,
        target_tags=campaign.target_tags,
        ad_category=campaign.ad_category,
        created_at=campaign.created_at,
    )


def create_campaign(principal: Principal, request: CreateCampaignInput) -> CampaignOutput:
    advertiser = get_advertiser(principal.tenant_id)  # 404 until the tenant registers as an advertiser
    now = clock.now()
    created_at = clock.isoformat(now)
    budget_millicents = cents_to_millicents(request.budget_cents)
    campaign = CampaignItem(
        tenant_id=principal.tenant_id,
        id=ids.new_id("camp"),
        advertiser_id=advertiser.id,
        name=request.name,
        budget_millicents=budget_millicents,
        cpm_bid_cents=request.cpm_bid_cents,
        daily_cap_millicents=(
            cents_to_millicents(request.daily_cap_cents) if request.daily_cap_cents is not None else None
        ),
        start_date=request.start_date,
        end_date=request.end_date,
        priority=request.priority,
        target_categories=request.target_categories,
        target_tags=request.target_tags,
        ad_category=request.ad_category,
        created_at=created_at,
        updated_at=created_at,
    )
    ledger = LedgerItem(
        tenant_id=principal.tenant_id,
        campaign_id=campaign.id,
        budget_millicents=budget_millicents,
        spend_day=created_at[:10],
    )
    repository.create(campaign, ledger)
    return to_output(campaign, ledger)


def list_campaigns(principal: Principal) -> list[CampaignOutput]:
    return [to_output(campaign, ledger) for campaign, ledger in repository.list_for_tenant(principal.tenant_id)]


def get_campaign(principal: Principal, campaign_id: str) -> CampaignOutput:
    return to_output(*owned_campaign(principal, campaign_id))


_STORED_MONEY_FIELDS = {"budget_cents": "budget_millicents", "daily_cap_cents": "daily_cap_millicents"}


def _stored_changes(changes: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """API field changes -> (attributes to set, attributes to remove); money goes from cents to millicents."""
    to_set: dict[str, Any] = {}
    to_remove: list[str] = []
    for name, value in changes.items():
        stored_name = _STORED_MONEY_FIELDS.get(name, name)
        if value is None:
            to_remove.append(stored_name)
        else:
            to_set[stored_name] = cents_to_millicents(value) if name in _STORED_MONEY_FIELDS else value
    return to_set, to_remove


def update_campaign(principal: Principal, campaign_id: str, request: UpdateCampaignInput) -> CampaignOutput:
    changes = request.model_dump(mode="json", exclude_unset=True)
    refuse_nulls(changes, CLEARABLE_CAMPAIGN_FIELDS)
    campaign, ledger = owned_campaign(principal, campaign_id)
    if not changes:
        return to_output(campaign, ledger)
    if campaign.status is CampaignStatus.COMPLETED:
        raise ConflictError(COMPLETED_DETAIL)
    to_set, to_remove = _stored_changes(changes)
    try:
        # Checked on the merged values: a new end_date must follow the stored start_date, and vice versa; the
        # budget and cap (stored names, in millicents; a removed cap is none) must pay one impression at the bid.
        ensure_end_after_start(
            changes.get("start_date", campaign.start_date), changes.get("end_date", campaign.end_date)
        )
        stored_cap = None if "daily_cap_millicents" in to_remove else campaign.daily_cap_millicents
        ensure_limits_cover_one_impression(
            to_set.get("cpm_bid_cents", campaign.cpm_bid_cents),
            to_set.get("budget_millicents", ledger.budget_millicents),
            to_set.get("daily_cap_millicents", stored_cap),
        )
    except ValueError as error:
        raise BusinessRuleError(str(error)) from None
    try:
        repository.update_config(
            campaign_id,
            principal.tenant_id,
            expected_version=campaign.version,
            set_fields=to_set,
            remove_fields=to_remove,
            now=clock.now_iso(),
        )
    except WriteRefused as refused:
        _, current_ledger = owned_campaign(principal, campaign_id)
        if "ledger" in refused.failed:
            spent = millicents_to_cents(current_ledger.spent_millicents)
            detail = f"Campaign budget_cents cannot be less than current spent_cents ({spent})"
            raise BusinessRuleError(detail) from None
        raise ConflictError(RETRY_DETAIL) from None
    return get_campaign(principal, campaign_id)


def _ensure_can_activate(campaign: CampaignItem, ledger: LedgerItem) -> None:
    """Refuses what could never serve: no creative, or a budget left that cannot pay one impression (the pacing
    job's rule). A campaign past its end_date still activates, as the seed's own example campaign
    (ending 2026-08-31) does when run as written; /match and billing never serve it and the job completes it."""
    if campaign.status is CampaignStatus.ACTIVE:
        raise ConflictError("Campaign is already active")
    if campaign.status is CampaignStatus.COMPLETED:
        raise ConflictError(COMPLETED_DETAIL)
    if not campaign.creatives:
        raise BusinessRuleError("Campaign needs at least one creative before it can be activated")
    if budget_cannot_pay_one_impression(ledger.budget_millicents, ledger.spent_millicents, campaign.cpm_bid_cents):
        price = impression_charge_millicents(campaign.cpm_bid_cents)
        raise BusinessRuleError(
            f"Campaign budget left cannot pay one impression at cpm_bid_cents {campaign.cpm_bid_cents} "
            f"({millicents_to_cents(price)} cents); raise budget_cents before activating"
        )


# Every warm /match instance keeps every active campaign in memory (D8): one advertiser must not be able to grow
# that snapshot for every tenant. Checked on the campaigns just read, so concurrent activations can pass it by a few.
MAX_ACTIVE_CAMPAIGNS_PER_ADVERTISER = 100


def activate_campaign(principal: Principal, campaign_id: str) -> CampaignOutput:
    campaign, ledger = owned_campaign(principal, campaign_id)
    _ensure_can_activate(campaign, ledger)
    if repository.count_active(principal.tenant_id) >= MAX_ACTIVE_CAMPAIGNS_PER_ADVERTISER:
        raise BusinessRuleError(
            f"An advertiser can have at most {MAX_ACTIVE_CAMPAIGNS_PER_ADVERTISER} active campaigns; pause one first"
        )
    price = impression_charge_millicents(campaign.cpm_bid_cents)
    try:
        repository.activate(
            campaign_id,
            principal.tenant_id,
            clock.now_iso(),
            expected_version=campaign.version,
            budget_millicents=ledger.budget_millicents,
            impression_price_millicents=price,
        )
    except WriteRefused as refused:
        if refused.failed & {"campaign", "ledger"}:
            _ensure_can_activate(*owned_campaign(principal, campaign_id))
        if "advertiser" in refused.failed:
            raise BusinessRuleError(
                "Advertiser balance must cover at least one impression at the campaign's bid "
                f"({millicents_to_cents(price)} cents) to activate it; deposit funds first"
            ) from None
        raise ConflictError(RETRY_DETAIL) from None
    return get_campaign(principal, campaign_id)


def pause_campaign(principal: Principal, campaign_id: str) -> CampaignOutput:
    campaign, _ = owned_campaign(principal, campaign_id)
    if campaign.status is not CampaignStatus.ACTIVE:
        raise ConflictError(f"Only an active campaign can be paused; this campaign is {campaign.status.value}")
    try:
        repository.pause(campaign_id, principal.tenant_id, clock.now_iso())
    except WriteRefused:
        current = recheck_owned(principal, campaign_id)
        raise ConflictError(f"Only an active campaign can be paused; this campaign is {current.status.value}") from None
    return get_campaign(principal, campaign_id)
