"""Campaign analytics (seed 001, "Analytics"): stats, daily series, per creative, per country, per affinity,
pacing. Only the owning advertiser reads a campaign's figures (unknown id -> 404, another tenant's -> 403).

Sources: money totals come from the campaign's LEDGER (synchronous and exact: what billing charged); the
breakdowns come from the stream-fed rollups (repository.py), which trail billing by the aggregator's delay (about a
second in AWS, the poll interval locally) and then reconcile exactly: the daily, per-creative, per-country and
per-game spends each sum to the ledger's spend.
"""

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from arbiter import clock
from arbiter.ads.campaigns.fields import looks_like_id
from arbiter.ads.pacing.figures import PacingOutput, pacing_figures
from arbiter.ads.reporting import keys, repository
from arbiter.ads.reporting.facts import SCORE_SCALE
from arbiter.ads.reporting.models import (
    AffinitiesOutput,
    AffinityRow,
    CampaignStatsOutput,
    CountryRow,
    CreativeRow,
    CreativesOutput,
    DailyOutput,
    DailyRow,
    GeoOutput,
)
from arbiter.auth.models import Principal
from arbiter.errors import ForbiddenError, NotFoundError
from arbiter.money import millicents_to_cents

CAMPAIGN_NOT_FOUND = "Campaign not found"
RATE_DECIMALS = 4


def owned_campaign_items(principal: Principal, campaign_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stored CAMPAIGN and LEDGER items of the caller's campaign."""
    items = repository.campaign_items(campaign_id) if looks_like_id("camp", campaign_id) else {}
    campaign, ledger = items.get("CAMPAIGN"), items.get("LEDGER")
    if campaign is None or ledger is None:
        raise NotFoundError(CAMPAIGN_NOT_FOUND)
    if campaign["tenant_id"] != principal.tenant_id:
        raise ForbiddenError("This campaign belongs to another advertiser")
    return campaign, ledger


def _n(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, 0))


def _ratio(numerator: int, denominator: int, scale: int = 1) -> float:
    return round(numerator / denominator / scale, RATE_DECIMALS) if denominator else 0.0


def _avg_score(item: dict[str, Any]) -> float:
    return _ratio(_n(item, "score_sum_e4"), _n(item, "scored_impressions"), SCORE_SCALE)


def _by_prefix(items: list[dict[str, Any]], prefix: str) -> dict[str, dict[str, Any]]:
    return {item["SK"].removeprefix(prefix): item for item in items if item["SK"].startswith(prefix)}


def _top(rows: dict[str, dict[str, Any]]) -> str | None:
    # Most impressions; ties go to the smallest id so the answer is stable.
    return min(rows, key=lambda key: (-_n(rows[key], "impressions"), key)) if rows else None


def stats(principal: Principal, campaign_id: str) -> CampaignStatsOutput:
    _, ledger = owned_campaign_items(principal, campaign_id)
    counters = repository.campaign_counters(campaign_id)
    days = _by_prefix(counters, keys.DAY)
    creatives = _by_prefix(counters, keys.CREATIVE)
    games = _by_prefix(counters, keys.GAME)
    impressions = sum(int(count) for count in (ledger.get("creative_impressions") or {}).values())
    spent = _n(ledger, "spent_millicents")
    # Millicents per impression is cents per thousand impressions (decisions D3), kept to the millicent.
    cpm = (Decimal(spent) / impressions).quantize(Decimal("0.001"), ROUND_HALF_EVEN) if impressions else Decimal(0)
    users = repository.unique_user_estimates(campaign_id, keys.ALL_USERS)
    return CampaignStatsOutput(
        campaign_id=campaign_id,
        impressions=impressions,
        unique_users=users.get(keys.ALL_USERS, 0),
        unique_games=len(games),
        spent_cents=millicents_to_cents(spent),
        budget_cents=millicents_to_cents(_n(ledger, "budget_millicents")),
        effective_cpm_cents=cpm.quantize(Decimal(1)) if cpm == cpm.to_integral_value() else cpm.normalize(),
        avg_affinity_score=_ratio(
            sum(_n(day, "score_sum_e4") for day in days.values()),
            sum(_n(day, "scored_impressions") for day in days.values()),
            SCORE_SCALE,
        ),
        top_creative_id=_top(creatives),
        top_game_id=_top(games),
    )


def daily(principal: Principal, campaign_id: str, days: int) -> DailyOutput:
    owned_campaign_items(principal, campaign_id)
    today = clock.utc_date()
    dates = [(today - timedelta(days=offset)).isoformat() for offset in range(days)]  # newest first
    rows = _by_prefix(repository.campaign_days(campaign_id, dates[-1], dates[0]), keys.DAY)
    users = repository.unique_user_estimates(campaign_id, keys.DAY, dates[-1], dates[0])
    return DailyOutput(
        campaign_id=campaign_id,
        days=[
            DailyRow(
                date=day,
                impressions=_n(rows.get(day, {}), "impressions"),
                unique_users=users.get(keys.DAY + day, 0),
                spent_cents=millicents_to_cents(_n(rows.get(day, {}), "spent_millicents")),
                avg_affinity_score=_avg_score(rows.get(day, {})),
            )
            for day in dates
        ],
    )


def creatives(principal: Principal, campaign_id: str) -> CreativesOutput:
    campaign, _ = owned_campaign_items(principal, campaign_id)
    configured = campaign.get("creatives") or {}
    served = _by_prefix(repository.campaign_counters(campaign_id, keys.CREATIVE), keys.CREATIVE)
    users = repository.unique_user_estimates(campaign_id, keys.CREATIVE)
    rows = []
    # Every current creative (zeros until served) and every served one, deleted or not, so spends reconcile.
    for creative_id in sorted(set(configured) | set(served)):
        doc, counter = configured.get(creative_id) or {}, served.get(creative_id, {})
        rows.append(
            CreativeRow(
                creative_id=creative_id,
                creative_type=doc.get("creative_type"),
                brand_name=doc.get("brand_name"),
                impressions=_n(counter, "impressions"),
                unique_users=users.get(keys.CREATIVE + creative_id, 0),
                spent_cents=millicents_to_cents(_n(counter, "spent_millicents")),
                avg_affinity_score=_avg_score(counter),
            )
        )
    rows.sort(key=lambda row: (-row.impressions, row.creative_id))
    return CreativesOutput(campaign_id=campaign_id, creatives=rows)


def geo(principal: Principal, campaign_id: str) -> GeoOutput:
    owned_campaign_items(principal, campaign_id)
    served = _by_prefix(repository.campaign_counters(campaign_id, keys.COUNTRY), keys.COUNTRY)
    users = repository.unique_user_estimates(campaign_id, keys.COUNTRY)
    rows = [
        CountryRow(
            country_code=country,
            impressions=_n(counter, "impressions"),
            unique_users=users.get(keys.COUNTRY + country, 0),
            spent_cents=millicents_to_cents(_n(counter, "spent_millicents")),
        )
        for country, counter in served.items()
    ]
    rows.sort(key=lambda row: (-row.impressions, row.country_code))
    return GeoOutput(campaign_id=campaign_id, countries=rows)


def affinities(principal: Principal, campaign_id: str) -> AffinitiesOutput:
    """match_rate: share of the campaign's impressions this affinity contributed to (a non-zero score
    contribution); avg_score_contribution: its mean contribution over those impressions."""
    campaign, _ = owned_campaign_items(principal, campaign_id)
    counters = repository.campaign_counters(campaign_id)
    total = sum(_n(item, "impressions") for item in _by_prefix(counters, keys.CREATIVE).values())
    influenced = _by_prefix(counters, keys.AFFINITY)
    configured = sorted((campaign.get("affinities") or {}).values(), key=lambda doc: (int(doc["position"]), doc["id"]))
    rows = []
    for doc in configured:
        counter = influenced.get(doc["id"], {})
        count = _n(counter, "impressions")
        rows.append(
            AffinityRow(
                affinity_id=doc["id"],
                affinity_type=doc["affinity_type"],
                affinity_value=doc["affinity_value"],
                weight=float(doc["weight"]),
                match_rate=_ratio(count, total),
                avg_score_contribution=_ratio(_n(counter, "contribution_sum_e4"), count, SCORE_SCALE),
                impressions_influenced=count,
            )
        )
    return AffinitiesOutput(campaign_id=campaign_id, affinities=rows)


def pacing(principal: Principal, campaign_id: str) -> PacingOutput:
    """The pacing job's own figures (arbiter.ads.pacing.figures), from the ledger."""
    campaign, ledger = owned_campaign_items(principal, campaign_id)
    return pacing_figures(campaign, ledger, clock.now()).to_output()
