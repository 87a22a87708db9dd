"""The pacing figures of GET /api/ads/campaigns/{id}/analytics/pacing (seed 001, "Budget Pacing").

Call `pacing_figures(campaign, ledger, now)` with the CAMPAIGN and LEDGER items (dicts as stored, or the
CampaignItem / LedgerItem models of arbiter.ads.campaigns) and `clock.now()`; `.to_output()` gives the seed's
response model. The pacing job computes targets and status with the same functions
(arbiter.ads.pacing.calculations), so analytics shows exactly what the job paces against.

Definitions (money in integer millicents inside, exact cents in the output; days are UTC dates):
- budget / spent / remaining: the ledger's budget copy and spend; remaining = max(0, budget - spent).
- daily_cap: the campaign's cap, or null.
- today_spent: the ledger's day counter when it counts today (0 before the midnight roll).
- daily target: calculations.daily_target (the cap, bounded by the budget left at the start of today; without a
  cap, budget left at the start of today / days left to end_date; null when unpaced).
- today_remaining: max(0, daily target - today_spent); the remaining budget when there is no daily target.
- avg_daily_spend: spent / UTC days since the later of start_date and creation, today included, in whole cents.
- days_remaining: ceil(remaining / average daily spend): the days the budget lasts at the average rate; null
  while nothing was spent. projected_exhaustion_date = today + days_remaining (the seed's example:
  461,925 left at 5,439.29 a day on 2026-03-01 -> 85 days -> 2026-05-25). A pure projection: it may fall after
  end_date, in which case the campaign completes before it exhausts; null when it falls past 9999-12-31 (a
  trickle of spend against a large budget), while days_remaining still gives the count.
- pacing_status: today_spent against the even-delivery line (daily target x fraction of the UTC day elapsed):
  on_pace within max(10% of that line, 1% of the daily target), under_pacing below, over_pacing above
  (calculations.pacing_status); on_pace when unpaced.
- utilization_pct: today_spent / daily cap x 100 (the daily target when there is no cap), one decimal; null
  when there is neither.
- Additive to the seed: daily_target_cents, expected_today_cents (the even line now) and throttle (the
  probability /match lets the campaign compete, as the job last set it; 1 when unpaced or stale).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from arbiter.ads.pacing import calculations as calc
from arbiter.ads.pacing.calculations import PacingState, PacingStatus
from arbiter.money import MILLICENTS_PER_CENT, Cents, millicents_to_cents


@dataclass(frozen=True, slots=True)
class PacingFigures:
    """All figures in millicents (exact); `to_output` renders the seed's response."""

    campaign_id: str
    budget_millicents: int
    spent_millicents: int
    remaining_millicents: int
    daily_cap_millicents: int | None
    today_spent_millicents: int
    today_remaining_millicents: int
    avg_daily_spend_millicents: int  # rounded to whole cents
    projected_exhaustion_date: date | None
    days_remaining: int | None
    pacing_status: PacingStatus
    utilization_pct: float | None
    daily_target_millicents: int | None
    expected_today_millicents: int | None
    throttle: float

    def to_output(self) -> "PacingOutput":
        def cents(value: int | None) -> Any:
            return None if value is None else millicents_to_cents(value)

        return PacingOutput(
            campaign_id=self.campaign_id,
            budget_cents=cents(self.budget_millicents),
            spent_cents=cents(self.spent_millicents),
            remaining_cents=cents(self.remaining_millicents),
            daily_cap_cents=cents(self.daily_cap_millicents),
            today_spent_cents=cents(self.today_spent_millicents),
            today_remaining_cents=cents(self.today_remaining_millicents),
            avg_daily_spend_cents=cents(self.avg_daily_spend_millicents),
            projected_exhaustion_date=self.projected_exhaustion_date.isoformat()
            if self.projected_exhaustion_date
            else None,
            days_remaining=self.days_remaining,
            pacing_status=self.pacing_status,
            utilization_pct=self.utilization_pct,
            daily_target_cents=cents(self.daily_target_millicents),
            expected_today_cents=cents(self.expected_today_millicents),
            throttle=self.throttle,
        )


class PacingOutput(BaseModel):
    """The seed's pacing response, then the additive fields."""

    campaign_id: str
    budget_cents: Cents
    spent_cents: Cents
    remaining_cents: Cents
    daily_cap_cents: Cents | None
    today_spent_cents: Cents
    today_remaining_cents: Cents
    avg_daily_spend_cents: Cents
    projected_exhaustion_date: str | None
    days_remaining: int | None
    pacing_status: PacingStatus
    utilization_pct: float | None
    daily_target_cents: Cents | None
    expected_today_cents: Cents | None
    throttle: float


def _as_dict(item: Mapping[str, Any] | BaseModel | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)


def pacing_figures(
    campaign: Mapping[str, Any] | BaseModel, ledger: Mapping[str, Any] | BaseModel | None, now: datetime
) -> PacingFigures:
    """The pacing figures of one campaign at `now` (module docstring for every definition)."""
    campaign_doc = campaign.model_dump(mode="json") if isinstance(campaign, BaseModel) else dict(campaign)
    state = PacingState.from_items(campaign_doc, _as_dict(ledger))
    return figures_for_state(state, now)


def _projected_date(today: str, days_remaining: int | None) -> date | None:
    """today + days_remaining; None past the last representable date (a trickle of spend against a large
    budget projects millions of years)."""
    day = date.fromisoformat(today)
    if days_remaining is None or days_remaining > (date.max - day).days:
        return None
    return day + timedelta(days=days_remaining)


def figures_for_state(state: PacingState, now: datetime) -> PacingFigures:
    today = calc.day_of(now)
    spent_today = state.spent_on(today)
    target = calc.daily_target(state, now)
    remaining = state.remaining_budget
    today_remaining = max(0, target - spent_today) if target is not None else remaining

    average = calc.average_daily_spend(state, now)
    average_whole_cents = round(average / MILLICENTS_PER_CENT) * MILLICENTS_PER_CENT
    days_remaining = math.ceil(remaining / average) if average > 0 else None
    projected = _projected_date(today, days_remaining)

    base = state.daily_cap_millicents if state.daily_cap_millicents is not None else target
    utilization = round(spent_today * 100 / base, 1) if base else None
    throttle = calc.effective_throttle(state.memory.throttle, state.memory.computed_at, now)

    return PacingFigures(
        campaign_id=state.campaign_id,
        budget_millicents=state.budget_millicents,
        spent_millicents=state.spent_millicents,
        remaining_millicents=remaining,
        daily_cap_millicents=state.daily_cap_millicents,
        today_spent_millicents=spent_today,
        today_remaining_millicents=today_remaining,
        avg_daily_spend_millicents=average_whole_cents,
        projected_exhaustion_date=projected,
        days_remaining=days_remaining,
        pacing_status=calc.pacing_status(spent_today, target, now),
        utilization_pct=utilization,
        daily_target_millicents=target,
        expected_today_millicents=calc.expected_by_now(target, now) if target is not None else None,
        throttle=1.0 if throttle is None else throttle,
    )
