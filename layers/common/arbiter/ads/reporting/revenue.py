"""Revenue (seed 001, "Revenue"): an advertiser's spend and a developer's earnings.

Totals come from what billing writes synchronously (campaign ledgers, the advertiser's balance, each game's
EARNINGS item: exact to the millicent); a game's per-advertiser and per-day earnings come from the stream-fed
rollups and sum to the same totals once the aggregator has caught up.
"""

from datetime import timedelta

from arbiter import clock
from arbiter.ads.advertisers.logic import get_advertiser
from arbiter.ads.campaigns import repository as campaigns_repository
from arbiter.ads.campaigns.models import CampaignStatus
from arbiter.ads.placements.logic import get_placement_item, list_placements
from arbiter.ads.placements.models import GAME_ID_MAX
from arbiter.ads.placements.repository import not_found
from arbiter.ads.reporting import keys, repository
from arbiter.ads.reporting.models import (
    AdvertiserEarningsRow,
    AdvertiserRevenueOutput,
    CampaignSpendRow,
    CreatorRevenueOutput,
    DailyEarningsRow,
    GameEarningsRow,
    GameRevenueOutput,
)
from arbiter.auth.models import Principal
from arbiter.money import millicents_to_cents

TOP_ADVERTISERS = 10


def advertiser_revenue(principal: Principal) -> AdvertiserRevenueOutput:
    advertiser = get_advertiser(principal.tenant_id)  # 404 until the tenant registers as an advertiser
    rows = []
    total_spent = total_impressions = active = 0
    for campaign, ledger in campaigns_repository.list_for_tenant(principal.tenant_id):
        impressions = sum(ledger.creative_impressions.values())
        total_spent += ledger.spent_millicents
        total_impressions += impressions
        active += campaign.status == CampaignStatus.ACTIVE
        rows.append(
            CampaignSpendRow(
                campaign_id=campaign.id,
                name=campaign.name,
                spent_cents=millicents_to_cents(ledger.spent_millicents),
                impressions=impressions,
                status=campaign.status.value,
            )
        )
    return AdvertiserRevenueOutput(
        total_spent_cents=millicents_to_cents(total_spent),
        total_impressions=total_impressions,
        active_campaigns=active,
        balance_cents=millicents_to_cents(advertiser.balance_millicents),
        campaigns=rows,
    )


def creator_revenue(principal: Principal) -> CreatorRevenueOutput:
    placements = list_placements(principal.tenant_id)
    earnings = repository.game_earnings([placement.game_id for placement in placements])
    games = [
        GameEarningsRow(
            game_id=placement.game_id,
            earned_cents=millicents_to_cents(int(earnings.get(placement.game_id, {}).get("earned_millicents", 0))),
            impressions=int(earnings.get(placement.game_id, {}).get("impressions", 0)),
            revenue_share_pct=placement.revenue_share_pct,
        )
        for placement in placements
    ]
    games.sort(key=lambda row: (-row.earned_cents, row.game_id))
    return CreatorRevenueOutput(
        total_earned_cents=sum((row.earned_cents for row in games), start=millicents_to_cents(0)),
        total_impressions=sum(row.impressions for row in games),
        games_count=len(games),
        games=games,
    )


def game_revenue(principal: Principal, game_id: str, days: int) -> GameRevenueOutput:
    if len(game_id) > GAME_ID_MAX:
        raise not_found(game_id[:GAME_ID_MAX])
    placement = get_placement_item(principal.tenant_id, game_id)  # 404 unknown, 403 another developer's
    earned = repository.game_earning(game_id)
    advertisers = repository.game_counters(game_id, keys.ADVERTISER)
    top = sorted(advertisers, key=lambda item: (-int(item.get("earned_millicents", 0)), item["SK"]))[:TOP_ADVERTISERS]
    today = clock.utc_date()
    dates = [(today - timedelta(days=offset)).isoformat() for offset in range(days)]  # newest first
    by_day = {
        item["SK"].removeprefix(keys.DAY): item
        for item in repository.game_counters(game_id, keys.DAY, dates[-1], dates[0])
    }
    return GameRevenueOutput(
        game_id=game_id,
        earned_cents=millicents_to_cents(int(earned.get("earned_millicents", 0))),
        impressions=int(earned.get("impressions", 0)),
        revenue_share_pct=placement.revenue_share_pct,
        top_advertisers=[
            AdvertiserEarningsRow(
                advertiser_id=item["SK"].removeprefix(keys.ADVERTISER),
                impressions=int(item.get("impressions", 0)),
                earned_cents=millicents_to_cents(int(item.get("earned_millicents", 0))),
            )
            for item in top
        ],
        daily=[
            DailyEarningsRow(
                date=day,
                impressions=int(by_day.get(day, {}).get("impressions", 0)),
                earned_cents=millicents_to_cents(int(by_day.get(day, {}).get("earned_millicents", 0))),
            )
            for day in dates
        ],
    )
