"""Helpers for the reporting tests: a served world built through the API, real billing transactions, and the
template's aggregator fed from the moto stream exactly as the local stack feeds it."""

from dataclasses import dataclass, field
from typing import Any

from arbiter.ads.billing import repository as billing_repository
from arbiter.ads.billing.models import ImpressionCharge
from arbiter.ads.billing.revenue_share import split_charge
from arbiter.devstack.streams import StreamFeed, stream_functions
from arbiter.money import impression_charge_millicents
from tests.ads_fixtures import PRODUCT_MENTION, add_creative, funded_campaign, set_ledger

AFFINITIES = [
    {"affinity_type": "lighting", "affinity_value": "warm golden hour", "weight": 1.5},
    {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2},
]


def aggregator_feed() -> StreamFeed:
    """The template's stream function on the impressions table; open it before the writes it should see."""
    (function,) = [fn for fn in stream_functions() if fn.logical_id == "ReportsAggregatorFunction"]
    return StreamFeed(function, function.table_logical_id)


@dataclass
class ServedCampaign:
    id: str
    advertiser_id: str
    tenant_id: str
    cpm_bid_cents: int
    creative_ids: list[str]
    affinity_ids: list[str]
    budget_millicents: int


@dataclass
class Game:
    game_id: str
    tenant_id: str
    revenue_share_bps: int
    creator_id: str = "dev_user_123"


@dataclass
class Biller:
    """Charges impressions with billing's own transaction (billing.repository.record)."""

    sequence: int = 0
    charges: list[ImpressionCharge] = field(default_factory=list)
    ledger_days: dict[str, str] = field(default_factory=dict)  # campaign id -> the day its ledger counts

    def charge(
        self,
        campaign: ServedCampaign,
        game: Game,
        *,
        day: str,
        creative_id: str | None = None,
        user_id: str | None = None,
        country_code: str | None = None,
        affinity_score: float | None = None,
        contributions: dict[str, float] | None = None,
    ) -> ImpressionCharge:
        self.sequence += 1
        charged = impression_charge_millicents(campaign.cpm_bid_cents)
        share, take = split_charge(charged, game.revenue_share_bps)
        charge = ImpressionCharge(
            impression_id=f"imp_test{self.sequence:07d}",
            developer_tenant_id=game.tenant_id,
            advertiser_tenant_id=campaign.tenant_id,
            advertiser_id=campaign.advertiser_id,
            campaign_id=campaign.id,
            creative_id=creative_id or campaign.creative_ids[0],
            game_id=game.game_id,
            creator_id=game.creator_id,
            user_id=user_id,
            session_id="sess_1" if user_id else None,
            country_code=country_code,
            affinity_score=affinity_score,
            contributions=contributions or {},
            charged_millicents=charged,
            developer_share_millicents=share,
            platform_take_millicents=take,
            budget_millicents=campaign.budget_millicents,
            day=day,
            recorded_at=f"{day}T12:00:00Z",
            idempotency_source="none",
        )
        if self.ledger_days.get(campaign.id) != day:
            # The ledger counting `day`, as billing's midnight roll leaves it (earlier days are replayed here).
            set_ledger(campaign.id, spend_day=day, day_spent_millicents=0)
            self.ledger_days[campaign.id] = day
        billing_repository.record(charge)
        self.charges.append(charge)
        return charge


def served_campaign(api, key: str, tenant_id: str, *, cpm_bid_cents: int = 250, **overrides: Any) -> ServedCampaign:
    """Registered and funded advertiser, an active campaign with two creatives and two affinities."""
    flight = {"start_date": None, "end_date": None, "daily_cap_cents": None}
    campaign = funded_campaign(api, key, cpm_bid_cents=cpm_bid_cents, **{**flight, **overrides})
    first = add_creative(api, key, campaign["id"])
    second = add_creative(api, key, campaign["id"], PRODUCT_MENTION)
    replaced = api.put(f"/api/ads/campaigns/{campaign['id']}/affinities/bulk", key=key, json={"affinities": AFFINITIES})
    assert replaced.status == 200, replaced.body
    activated = api.post(f"/api/ads/campaigns/{campaign['id']}/activate", key=key)
    assert activated.status == 200, activated.body
    return ServedCampaign(
        id=campaign["id"],
        advertiser_id=campaign["advertiser_id"],
        tenant_id=tenant_id,
        cpm_bid_cents=cpm_bid_cents,
        creative_ids=[first["id"], second["id"]],
        affinity_ids=[affinity["id"] for affinity in replaced.json()],
        budget_millicents=campaign["budget_cents"] * 1000,
    )


def placed_game(api, key: str, tenant_id: str, game_id: str, revenue_share_pct: float = 70) -> Game:
    body = {"creator_id": "dev_user_123", "placement_types": ["narrative_hook"], "revenue_share_pct": revenue_share_pct}
    enabled = api.post(f"/api/ads/placements/{game_id}", key=key, json=body)
    assert enabled.status == 201, enabled.body
    return Game(game_id=game_id, tenant_id=tenant_id, revenue_share_bps=round(revenue_share_pct * 100))


class CapturingFeed:
    """The aggregator feed, keeping every event it delivered (to replay them)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.feed = aggregator_feed()
        self.feed.on_result = lambda event, _: self.events.append(event)

    def drain(self) -> int:
        return self.feed.poll_once()
