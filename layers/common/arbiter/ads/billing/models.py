"""Billing models: what one impression charges and credits, and the stored impression item."""

from pydantic import BaseModel, Field, model_validator

from arbiter.ads.tokens import MAX_TOKEN_LENGTH
from arbiter.core.inputs import InputModel
from arbiter.money import Cents

ID_MAX = 64


class RecordImpressionInput(InputModel):
    campaign_id: str = Field(min_length=1, max_length=ID_MAX)
    creative_id: str = Field(min_length=1, max_length=ID_MAX)
    game_id: str = Field(min_length=1, max_length=128)
    impression_token: str | None = Field(default=None, max_length=MAX_TOKEN_LENGTH)


class ImpressionOutput(BaseModel):
    impression_id: str
    campaign_id: str
    creative_id: str
    game_id: str
    charged_cents: Cents
    recorded_at: str


class ImpressionCharge(BaseModel, frozen=True):
    """Everything the billing transaction writes for one impression (all money in integer millicents)."""

    impression_id: str
    developer_tenant_id: str
    advertiser_tenant_id: str
    advertiser_id: str
    campaign_id: str
    creative_id: str
    game_id: str
    creator_id: str
    user_id: str | None = None
    session_id: str | None = None
    country_code: str | None = None
    affinity_score: float | None = None
    contributions: dict[str, float] = Field(default_factory=dict)
    charged_millicents: int = Field(gt=0)
    developer_share_millicents: int = Field(ge=0)
    platform_take_millicents: int = Field(ge=0)
    budget_millicents: int = Field(gt=0)
    daily_cap_millicents: int | None = None
    day: str  # UTC date the spend counts against, YYYY-MM-DD
    recorded_at: str
    idempotency_source: str  # "token:<jti>", "key:<Idempotency-Key>" or "none"

    @model_validator(mode="after")
    def _shares_sum_to_charge(self) -> "ImpressionCharge":
        if self.developer_share_millicents + self.platform_take_millicents != self.charged_millicents:
            raise ValueError("developer share and platform take must sum to the charge")
        return self


class BillingCampaignView(BaseModel):
    """The fields of a campaign item (CAMPAIGN#<id>/CAMPAIGN) that billing prices with. `status` is a plain string
    so a status this code does not know (e.g. "exhausted") still reads."""

    tenant_id: str
    id: str
    advertiser_id: str
    status: str
    cpm_bid_cents: int
    daily_cap_millicents: int | None = None
    creative_ids: frozenset[str]


class BillingLedgerView(BaseModel):
    """The money counters of a campaign's LEDGER item, as read before charging."""

    budget_millicents: int
    spent_millicents: int = 0
    spend_day: str
    day_spent_millicents: int = 0
