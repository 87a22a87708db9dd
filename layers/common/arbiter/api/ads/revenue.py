"""Routes: advertiser spend and creator earnings (seed 001, Revenue)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from arbiter.ads.reporting import revenue
from arbiter.ads.reporting.models import (
    DEFAULT_DAYS,
    MAX_DAYS,
    AdvertiserRevenueOutput,
    CreatorRevenueOutput,
    GameRevenueOutput,
    ReportFormat,
)
from arbiter.api.ads.report_responses import FormatParam, csv_or_json, openapi_responses
from arbiter.auth.dependencies import Advertiser, Developer

router = Router()
TAGS = ["Ads: revenue"]

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="Days of daily earnings to return (1-365), newest first")]


@router.get(
    "/api/ads/revenue",
    tags=TAGS,
    summary="Advertiser spend",
    responses=openapi_responses(AdvertiserRevenueOutput),
)
def advertiser_revenue(principal: Advertiser, format: FormatParam = ReportFormat.JSON) -> Response[Any]:
    report = revenue.advertiser_revenue(principal)
    return csv_or_json(report, format, report.campaigns, "revenue.csv")


@router.get("/api/ads/creator-revenue", tags=TAGS, summary="Creator total earnings")
def creator_revenue(principal: Developer) -> CreatorRevenueOutput:
    return revenue.creator_revenue(principal)


@router.get("/api/ads/creator-revenue/<game_id>", tags=TAGS, summary="Per-game earnings")
def game_revenue(game_id: str, principal: Developer, days: Days = DEFAULT_DAYS) -> GameRevenueOutput:
    return revenue.game_revenue(principal, game_id, days)
