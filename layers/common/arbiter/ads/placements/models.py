"""Placement models: API input, API output, and the DynamoDB item.

The revenue share is stored as integer basis points (70% -> 7000, 62.5% -> 6250) so later revenue splits
stay exact integer arithmetic; the API shows it as the seed's `revenue_share_pct` number.
"""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, StringConstraints, field_validator

from arbiter.core.inputs import InputModel, decimal_number

GAME_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
GAME_ID_MAX = 128
CREATOR_ID_MAX = 128
MAX_BLOCKED_ADVERTISERS = 200
MAX_BLOCKED_CATEGORIES = 100
CATEGORY_MAX = 64
DEFAULT_MAX_ADS_PER_SESSION = 10
BPS_PER_PERCENT = 100


class PlacementType(StrEnum):
    NARRATIVE_HOOK = "narrative_hook"
    PRODUCT_MENTION = "product_mention"
    LOCATION_BRAND = "location_brand"
    CHARACTER_REFERENCE = "character_reference"


# A percentage with at most 2 decimals, so it maps exactly onto integer basis points.
RevenueSharePct = decimal_number(ge=0, le=100, decimal_places=2)


def _pct_json(value: Decimal) -> int | float:
    # At most 2 decimals and 5 significant digits: the float's shortest repr is exactly the decimal text.
    return int(value) if value == value.to_integral_value() else float(value)


# A percentage in an API response: exact Decimal in Python, a JSON number on the wire (70, 62.5).
PctOutput = Annotated[Decimal, PlainSerializer(_pct_json, return_type=int | float, when_used="json")]

CreatorId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CREATOR_ID_MAX)]
AdvertiserId = Annotated[str, StringConstraints(pattern=r"^adv_[A-Za-z0-9]{1,64}$", max_length=68)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CATEGORY_MAX)]
PlacementTypes = Annotated[list[PlacementType], Field(min_length=1, max_length=len(PlacementType))]
MaxAdsPerSession = Annotated[int, Field(ge=1, le=50, strict=True)]
BlockedAdvertisers = Annotated[list[AdvertiserId], Field(max_length=MAX_BLOCKED_ADVERTISERS)]
BlockedCategories = Annotated[list[Category], Field(max_length=MAX_BLOCKED_CATEGORIES)]


def pct_to_bps(pct: Decimal) -> int:
    return int(pct * BPS_PER_PERCENT)  # exact: validation allows at most 2 decimals


def bps_to_pct(bps: int) -> Decimal:
    pct = Decimal(bps) / BPS_PER_PERCENT
    return pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct.normalize()


class _PlacementConfigRules(InputModel):
    """Rules shared by the create and update bodies."""

    @field_validator("placement_types", check_fields=False)
    @classmethod
    def reject_duplicate_types(cls, types: list[PlacementType] | None) -> list[PlacementType] | None:
        if types is not None and len(set(types)) != len(types):
            raise ValueError("placement_types must not contain duplicates")
        return types

    @field_validator("blocked_advertisers", "blocked_categories", check_fields=False)
    @classmethod
    def drop_repeated_entries(cls, values: list[str] | None) -> list[str] | None:
        # A repeated blocklist entry means the same thing once; keep the caller's order.
        return list(dict.fromkeys(values)) if values is not None else None


class EnablePlacementInput(_PlacementConfigRules):
    creator_id: CreatorId
    placement_types: PlacementTypes
    revenue_share_pct: RevenueSharePct
    max_ads_per_session: MaxAdsPerSession = DEFAULT_MAX_ADS_PER_SESSION
    blocked_advertisers: BlockedAdvertisers = Field(default_factory=list)
    blocked_categories: BlockedCategories = Field(default_factory=list)


class UpdatePlacementInput(_PlacementConfigRules):
    placement_types: PlacementTypes | None = None
    revenue_share_pct: RevenueSharePct | None = None
    max_ads_per_session: MaxAdsPerSession | None = None
    blocked_advertisers: BlockedAdvertisers | None = None
    blocked_categories: BlockedCategories | None = None


class PlacementOutput(BaseModel):
    game_id: str
    creator_id: str
    placement_types: list[str]
    revenue_share_pct: PctOutput
    max_ads_per_session: int
    blocked_advertisers: list[str]
    blocked_categories: list[str]
    is_active: bool
    created_at: str
    updated_at: str


class PlacementItem(BaseModel):
    """Stored under PK=GAME#<game_id>, SK=PLACEMENT; listed per tenant on GSI1 (TENANT#<t>#PLACEMENTS)."""

    tenant_id: str
    game_id: str
    creator_id: str
    placement_types: list[str]
    revenue_share_bps: int
    max_ads_per_session: int
    blocked_advertisers: list[str] = Field(default_factory=list)
    blocked_categories: list[str] = Field(default_factory=list)
    is_active: bool
    created_at: str
    updated_at: str

    @property
    def revenue_share_pct(self) -> Decimal:
        return bps_to_pct(self.revenue_share_bps)
