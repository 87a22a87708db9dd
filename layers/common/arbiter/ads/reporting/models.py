"""Output models of the analytics and revenue reports (seed 001, "Analytics" and "Revenue"), and the query
parameters they take. Money is exact `Cents`; scores and rates are rounded to 4 decimals."""

from enum import StrEnum

from pydantic import BaseModel

from arbiter.ads.placements.models import PctOutput
from arbiter.money import Cents

DEFAULT_DAYS = 30
MAX_DAYS = 365


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class CampaignStatsOutput(BaseModel):
    campaign_id: str
    impressions: int
    unique_users: int
    unique_games: int
    spent_cents: Cents
    budget_cents: Cents
    effective_cpm_cents: Cents
    avg_affinity_score: float
    top_creative_id: str | None
    top_game_id: str | None


class DailyRow(BaseModel):
    date: str
    impressions: int
    unique_users: int
    spent_cents: Cents
    avg_affinity_score: float


class DailyOutput(BaseModel):
    campaign_id: str
    days: list[DailyRow]


class CreativeRow(BaseModel):
    creative_id: str
    creative_type: str | None  # null for a creative deleted after it was served
    brand_name: str | None
    impressions: int
    unique_users: int
    spent_cents: Cents
    avg_affinity_score: float


class CreativesOutput(BaseModel):
    campaign_id: str
    creatives: list[CreativeRow]


class CountryRow(BaseModel):
    country_code: str  # "ZZ": the player's country was not known
    impressions: int
    unique_users: int
    spent_cents: Cents


class GeoOutput(BaseModel):
    campaign_id: str
    countries: list[CountryRow]


class AffinityRow(BaseModel):
    affinity_id: str
    affinity_type: str
    affinity_value: str
    weight: float
    match_rate: float
    avg_score_contribution: float
    impressions_influenced: int


class AffinitiesOutput(BaseModel):
    campaign_id: str
    affinities: list[AffinityRow]


class CampaignSpendRow(BaseModel):
    campaign_id: str
    name: str
    spent_cents: Cents
    impressions: int
    status: str


class AdvertiserRevenueOutput(BaseModel):
    total_spent_cents: Cents
    total_impressions: int
    active_campaigns: int
    balance_cents: Cents
    campaigns: list[CampaignSpendRow]


class GameEarningsRow(BaseModel):
    game_id: str
    earned_cents: Cents
    impressions: int
    revenue_share_pct: PctOutput


class CreatorRevenueOutput(BaseModel):
    total_earned_cents: Cents
    total_impressions: int
    games_count: int
    games: list[GameEarningsRow]


class AdvertiserEarningsRow(BaseModel):
    advertiser_id: str
    impressions: int
    earned_cents: Cents


class DailyEarningsRow(BaseModel):
    date: str
    impressions: int
    earned_cents: Cents


class GameRevenueOutput(BaseModel):
    game_id: str
    earned_cents: Cents
    impressions: int
    revenue_share_pct: PctOutput
    top_advertisers: list[AdvertiserEarningsRow]
    daily: list[DailyEarningsRow]
