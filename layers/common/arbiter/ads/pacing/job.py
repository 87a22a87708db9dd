"""The scheduled pacing job (PacingFunction, every 5 minutes): one pass over every active campaign.

For each campaign in the GSI2 `SERVING` index, in this order:
1. past its end_date -> status "completed" (terminal), out of the serving index;
2. remaining budget below one impression -> "exhausted"; advertiser balance below one impression -> "exhausted"
   (what billing does when it refuses a charge; re-activatable after a budget raise or deposit);
3. the ledger still counts an earlier UTC day -> roll_spend_day (today's counter starts at 0);
4. today's throttle (arbiter.ads.pacing.calculations.next_throttle) written on the LEDGER item for this 5-minute
   slot; /match reads it through its candidate cache (CANDIDATE_CACHE_TTL_SECONDS).

Idempotent and safe to run twice, concurrently or late: every step is a conditional write decided from the
stored state and the clock (never from "time since the previous run"), a slot's throttle is written at most
once, and a late run measures over the longer interval it finds. One campaign failing is logged and counted;
the others still run, and the next run retries it.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from arbiter import clock
from arbiter.ads.billing.repository import roll_spend_day
from arbiter.ads.budget import cannot_pay_one_impression
from arbiter.ads.campaigns.repository import exhaust_if_balance_low, exhaust_if_out_of_budget
from arbiter.ads.pacing import calculations as calc
from arbiter.ads.pacing import repository
from arbiter.ads.pacing.calculations import PacingState
from arbiter.ads.serving.repository import active_campaign_items
from arbiter.observability import logger


@dataclass
class PacingRunReport:
    """What one run did (also the function's response and its metrics)."""

    slot: str
    campaigns: int = 0
    completed: list[str] = field(default_factory=list)
    exhausted: list[str] = field(default_factory=list)
    rolled: list[str] = field(default_factory=list)
    throttled: dict[str, float] = field(default_factory=dict)  # campaign id -> throttle written this run
    already_paced: int = 0  # campaigns whose slot an earlier (or concurrent) run already wrote
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "slot": self.slot,
            "campaigns": self.campaigns,
            "completed": self.completed,
            "exhausted": self.exhausted,
            "rolled": self.rolled,
            "throttled": self.throttled,
            "already_paced": self.already_paced,
            "failed": self.failed,
        }


def pace_campaign(
    state: PacingState, advertiser_tenant_id: str, balance: int | None, now: datetime, report: PacingRunReport
) -> None:
    now_iso = clock.isoformat(now)
    today = calc.day_of(now)
    campaign_id = state.campaign_id
    if calc.is_past_end(state, now):
        if state.end_date is not None and repository.complete(campaign_id, state.end_date, now_iso):
            report.completed.append(campaign_id)
        return
    if calc.is_out_of_budget(state):
        if exhaust_if_out_of_budget(campaign_id, state.budget_millicents, state.cpm_bid_cents, now_iso):
            report.exhausted.append(campaign_id)
        return
    if balance is not None and cannot_pay_one_impression(balance, state.cpm_bid_cents):
        if exhaust_if_balance_low(campaign_id, advertiser_tenant_id, state.cpm_bid_cents, now_iso):
            report.exhausted.append(campaign_id)
        return
    if state.spend_day is None or state.spend_day < today:
        if roll_spend_day(campaign_id, today):
            report.rolled.append(campaign_id)
        # Today's counter starts at zero whether this run or billing rolled it.
        state = _rolled(state, today)
    if state.starts_at is not None and now < state.starts_at:
        return  # not started: nothing to pace yet
    decision = calc.next_throttle(state, now)
    if decision.target is None and state.memory.throttle is None:
        return  # unpaced and nothing stored: /match already serves it at throttle 1, no write needed
    if repository.set_throttle(campaign_id, decision, report.slot, today, now_iso):
        report.throttled[campaign_id] = decision.throttle
    else:
        report.already_paced += 1


def _rolled(state: PacingState, today: str) -> PacingState:
    return replace(state, spend_day=today, day_spent_millicents=0)


def run(now: datetime | None = None) -> PacingRunReport:
    """One pass over every active campaign at `now` (the clock by default)."""
    now = now or clock.now()
    report = PacingRunReport(slot=calc.slot_of(now))
    campaigns = active_campaign_items()  # GSI2 SERVING: only active campaigns carry its keys
    report.campaigns = len(campaigns)
    if not campaigns:
        return report
    ledgers = repository.ledgers(str(item["id"]) for item in campaigns)
    balances = repository.advertiser_balances(str(item.get("tenant_id") or "") for item in campaigns)
    for item in campaigns:
        campaign_id = str(item.get("id"))
        try:
            state = PacingState.from_items(item, ledgers.get(campaign_id))
            tenant_id = str(item.get("tenant_id") or "")
            pace_campaign(state, tenant_id, balances.get(tenant_id), now, report)
        except Exception:
            # One campaign must not stop the others; the next run (5 minutes) retries it.
            logger.exception("pacing failed for a campaign", extra={"campaign_id": campaign_id})
            report.failed.append(campaign_id)
    return report
