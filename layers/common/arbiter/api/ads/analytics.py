"""Routes: campaign analytics (seed 001, Analytics). Advertiser keys only; the owner's campaigns only."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from arbiter.ads.pacing.figures import PacingOutput
from arbiter.ads.reporting import analytics
from arbiter.ads.reporting.models import (
    DEFAULT_DAYS,
    MAX_DAYS,
    AffinitiesOutput,
    CampaignStatsOutput,
    CreativesOutput,
    DailyOutput,
    GeoOutput,
    ReportFormat,
)
from arbiter.api.ads.report_responses import FormatParam, csv_or_json, openapi_responses
from arbiter.auth.dependencies import Advertiser

router = Router()
TAGS = ["Ads: analytics"]

Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="Number of days to return (1-365), newest first")]


@router.get("/api/ads/campaigns/<id>/stats", tags=TAGS, summary="Campaign stats")
def campaign_stats(id: str, principal: Advertiser) -> CampaignStatsOutput:
    return analytics.stats(principal, id)


@router.get(
    "/api/ads/campaigns/<id>/analytics/daily",
    tags=TAGS,
    summary="Daily time-series",
    responses=openapi_responses(DailyOutput),
)
def campaign_daily(
    id: str, principal: Advertiser, days: Days = DEFAULT_DAYS, format: FormatParam = ReportFormat.JSON
) -> Response[Any]:
    report = analytics.daily(principal, id, days)
    return csv_or_json(report, format, report.days, f"{id}-daily.csv")


@router.get(
    "/api/ads/campaigns/<id>/analytics/creatives",
    tags=TAGS,
    summary="Per-creative breakdown",
    responses=openapi_responses(CreativesOutput),
)
def campaign_creatives(id: str, principal: Advertiser, format: FormatParam = ReportFormat.JSON) -> Response[Any]:
    report = analytics.creatives(principal, id)
    return csv_or_json(report, format, report.creatives, f"{id}-creatives.csv")


@router.get(
    "/api/ads/campaigns/<id>/analytics/geo",
    tags=TAGS,
    summary="Per-country breakdown",
    responses=openapi_responses(GeoOutput),
)
def campaign_geo(id: str, principal: Advertiser, format: FormatParam = ReportFormat.JSON) -> Response[Any]:
    report = analytics.geo(principal, id)
    return csv_or_json(report, format, report.countries, f"{id}-geo.csv")


@router.get("/api/ads/campaigns/<id>/analytics/affinities", tags=TAGS, summary="Affinity effectiveness")
def campaign_affinities(id: str, principal: Advertiser) -> AffinitiesOutput:
    return analytics.affinities(principal, id)


@router.get("/api/ads/campaigns/<id>/analytics/pacing", tags=TAGS, summary="Budget pacing")
def campaign_pacing(id: str, principal: Advertiser) -> PacingOutput:
    return analytics.pacing(principal, id)
