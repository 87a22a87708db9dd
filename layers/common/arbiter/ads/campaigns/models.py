"""Campaign models: API input, API output, and the two DynamoDB items (configuration and ledger)."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from arbiter.ads.campaigns.affinity_models import AffinityDoc
from arbiter.ads.campaigns.creative_models import CreativeDoc
from arbiter.ads.campaigns.fields import (
    Label,
    ensure_end_after_start,
    ensure_limits_cover_one_impression,
)
from arbiter.ads.campaigns.targeting_models import BlocklistRuleDoc, GeoTargetDoc
from arbiter.core.inputs import InputModel, IsoDateTime
from arbiter.money import Cents, cents_to_millicents

NAME_MAX = 200
TARGET_LIST_MAX = 50
MIN_CPM_BID_CENTS = 100
MAX_CPM_BID_CENTS = 10_000
DEFAULT_PRIORITY = 5
# $100M: far inside exact integer ranges once turned into millicents.
MAX_AMOUNT_CENTS = 10_000_000_000

CampaignName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    # Billing or the pacing job stopped it: the budget left or the advertiser balance cannot pay one impression at
    # the bid. Re-activatable.
    EXHAUSTED = "exhausted"
    # The pacing job ended it: its end_date passed. Terminal: it cannot be activated again.
    COMPLETED = "completed"


class CreateCampaignInput(InputModel):
    name: CampaignName
    budget_cents: int = Field(gt=0, le=MAX_AMOUNT_CENTS, strict=True)
    cpm_bid_cents: int = Field(ge=MIN_CPM_BID_CENTS, le=MAX_CPM_BID_CENTS, strict=True)
    daily_cap_cents: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_CENTS, strict=True)
    start_date: IsoDateTime | None = None
    end_date: IsoDateTime | None = None
    priority: int = Field(default=DEFAULT_PRIORITY, ge=0, le=10, strict=True)
    target_categories: list[Label] = Field(default_factory=list, max_length=TARGET_LIST_MAX)
    target_tags: list[Label] = Field(default_factory=list, max_length=TARGET_LIST_MAX)
    # The campaign's own category, matched against a placement's blocked_categories.
    ad_category: Label | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "CreateCampaignInput":
        ensure_end_after_start(self.start_date, self.end_date)
        cap = cents_to_millicents(self.daily_cap_cents) if self.daily_cap_cents is not None else None
        ensure_limits_cover_one_impression(self.cpm_bid_cents, cents_to_millicents(self.budget_cents), cap)
        return self


class UpdateCampaignInput(InputModel):
    """Partial update. daily_cap_cents, start_date, end_date and ad_category may be set to null to clear them."""

    name: CampaignName | None = None
    budget_cents: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_CENTS, strict=True)
    cpm_bid_cents: int | None = Field(default=None, ge=MIN_CPM_BID_CENTS, le=MAX_CPM_BID_CENTS, strict=True)
    daily_cap_cents: int | None = Field(default=None, gt=0, le=MAX_AMOUNT_CENTS, strict=True)
    start_date: IsoDateTime | None = None
    end_date: IsoDateTime | None = None
    priority: int | None = Field(default=None, ge=0, le=10, strict=True)
    target_categories: list[Label] | None = Field(default=None, max_length=TARGET_LIST_MAX)
    target_tags: list[Label] | None = Field(default=None, max_length=TARGET_LIST_MAX)
    ad_category: Label | None = None


CLEARABLE_CAMPAIGN_FIELDS = frozenset({"daily_cap_cents", "start_date", "end_date", "ad_category"})


class CampaignOutput(BaseModel):
    id: str
    advertiser_id: str
    name: str
    status: CampaignStatus
    budget_cents: Cents
    spent_cents: Cents
    cpm_bid_cents: int
    daily_cap_cents: Cents | None
    start_date: str | None
    end_date: str | None
    priority: int
    target_categories: list[str]
    target_tags: list[str]
    ad_category: str | None
    created_at: str


class CampaignItem(BaseModel):
    """Stored under PK=CAMPAIGN#<id>, SK=CAMPAIGN: the configuration plus every child, embedded as maps keyed by
    child id, so one read returns the whole aggregate and each child write is one conditional update."""

    tenant_id: str
    id: str
    advertiser_id: str
    name: str
    status: CampaignStatus = CampaignStatus.DRAFT
    budget_millicents: int
    cpm_bid_cents: int
    daily_cap_millicents: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    priority: int = DEFAULT_PRIORITY
    target_categories: list[str] = Field(default_factory=list)
    target_tags: list[str] = Field(default_factory=list)
    ad_category: str | None = None
    created_at: str
    updated_at: str
    # Bumped by every configuration update; updates are conditioned on it (dates are validated merged).
    version: int = 1
    creatives: dict[str, CreativeDoc] = Field(default_factory=dict)
    geo_targets: dict[str, GeoTargetDoc] = Field(default_factory=dict)
    blocklist: dict[str, BlocklistRuleDoc] = Field(default_factory=dict)
    affinities: dict[str, AffinityDoc] = Field(default_factory=dict)


class LedgerItem(BaseModel):
    """Stored under PK=CAMPAIGN#<id>, SK=LEDGER: the money counters the per-impression transaction updates,
    kept apart from the configuration so each impression rewrites only this small item."""

    tenant_id: str
    campaign_id: str
    budget_millicents: int  # copy of the campaign's; changed with it in one transaction
    spent_millicents: int = 0
    spend_day: str  # UTC date (YYYY-MM-DD) that day_spent_millicents counts
    day_spent_millicents: int = 0
    creative_impressions: dict[str, int] = Field(default_factory=dict)  # crt_id -> impressions served
    # Written by the pacing job (arbiter.ads.pacing.repository.set_throttle); absent until its first run.
    pacing_throttle: float | None = None
    pacing_slot: str | None = None
    pacing_at: str | None = None
    pacing_day: str | None = None
    pacing_day_spent: int | None = None
    pacing_demand: float | None = None
