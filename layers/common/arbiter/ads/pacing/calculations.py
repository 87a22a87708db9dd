"""Pure pacing math: today's even-delivery target, the time-proportional target to date, the pacing status, and
the throttle controller. No I/O: state and a clock reading in, numbers out (the job and analytics share it).

Targets (money in integer millicents, days are UTC dates):
- today's target = min(daily cap, budget left at the start of today) when the campaign has a daily cap;
  otherwise, with an end_date, (budget left at the start of today) / (days left including today), rounded up;
  otherwise none (no pacing: the campaign spends as fast as demand allows and the throttle stays 1).
  "Budget left at the start of today" = budget - (spent - spent today), so the target does not drift as the
  day's spend accrues.
- expected by now = today's target x the fraction of the UTC day elapsed (even delivery).

Throttle controller (runs once per job slot, every 5 minutes):
    throttle = clamp(required_rate / demand_rate, MIN_THROTTLE, 1)
    required_rate = (today's target - spent today) / (seconds left to serve today: to midnight UTC or the end)
    demand_rate   = the campaign's spend rate at throttle 1, estimated from the last interval:
                    (spent today now - spent today at the last run) / (seconds since it) / the throttle in force,
                    exponentially smoothed (DEMAND_SMOOTHING) with the previous estimate.
It is a feed-forward of the measured demand plus feedback through the remaining budget: behind the even line,
the required rate rises and the throttle opens; ahead, it closes. In log space it is an integral controller
(new throttle = old throttle x required / observed), so it has no steady-state error when demand is steady, and
follows a diurnal curve one interval behind. MIN_THROTTLE keeps a trickle of traffic so demand stays measurable
(with a throttle of 0 every sample would read 0); the daily cap is enforced by billing either way. Nothing here
depends on how long ago the job last ran: a late run measures over the longer interval it finds.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from arbiter import clock
from arbiter.ads.budget import budget_cannot_pay_one_impression, cannot_pay_one_impression
from arbiter.ads.matching.models import parse_window_bound
from arbiter.clock import parse_iso
from arbiter.dynamo.values import as_float, as_int

JOB_INTERVAL = timedelta(minutes=5)  # the schedule of PacingFunction in template.yaml
MIN_THROTTLE = 0.01
MAX_THROTTLE = 1.0
DEMAND_SMOOTHING = 0.5  # weight of the newest demand sample in the estimate
# A throttle older than this is ignored by /match (treated as 1): if the job stops, serving falls back to
# unpaced delivery (billing still enforces cap and budget) instead of staying throttled on stale figures.
THROTTLE_STALE_AFTER = timedelta(minutes=30)
# pacing_status: on_pace while today's spend is within this fraction of the even-delivery expectation ...
ON_PACE_TOLERANCE = 0.10
# ... or within this fraction of the whole day's target (so one impression early in the day is not "over").
ON_PACE_FLOOR_OF_TARGET = 0.01

DAY = timedelta(days=1)
PacingStatus = Literal["under_pacing", "on_pace", "over_pacing"]


@dataclass(frozen=True, slots=True)
class PacingMemory:
    """What the last job run left on the LEDGER item (attributes `pacing_*`, docs/decisions.md)."""

    throttle: float | None = None  # pacing_throttle
    slot: str | None = None  # pacing_slot: ISO start of the 5-minute slot the throttle was computed for
    computed_at: datetime | None = None  # pacing_at
    day: str | None = None  # pacing_day: the UTC day of the checkpoint below
    day_spent_millicents: int | None = None  # pacing_day_spent: today's spend when the throttle was set
    demand_rate: float | None = None  # pacing_demand: millicents per second at throttle 1

    @classmethod
    def from_ledger(cls, ledger: dict[str, Any]) -> "PacingMemory":
        computed_at = ledger.get("pacing_at")
        spent = ledger.get("pacing_day_spent")
        return cls(
            throttle=as_float(ledger.get("pacing_throttle")),
            slot=ledger.get("pacing_slot"),
            computed_at=parse_iso(computed_at) if computed_at else None,
            day=ledger.get("pacing_day"),
            day_spent_millicents=None if spent is None else int(spent),
            demand_rate=as_float(ledger.get("pacing_demand")),
        )


@dataclass(frozen=True, slots=True)
class PacingState:
    """A campaign's configuration and counters as pacing sees them (from the CAMPAIGN and LEDGER items)."""

    campaign_id: str
    status: str
    cpm_bid_cents: int
    budget_millicents: int
    spent_millicents: int
    daily_cap_millicents: int | None
    spend_day: str | None
    day_spent_millicents: int
    starts_at: datetime | None
    ends_at: datetime | None
    end_date: str | None  # as stored (the job conditions completion on it)
    created_at: datetime | None
    memory: PacingMemory

    @classmethod
    def from_items(cls, campaign: dict[str, Any], ledger: dict[str, Any] | None) -> "PacingState":
        """From the stored items (or their model_dump()): the ledger's budget copy is authoritative."""
        ledger = ledger or {}
        created = campaign.get("created_at")
        cap = campaign.get("daily_cap_millicents")
        return cls(
            campaign_id=str(campaign["id"]),
            status=str(campaign.get("status") or "draft"),
            cpm_bid_cents=as_int(campaign["cpm_bid_cents"]),
            budget_millicents=as_int(ledger.get("budget_millicents", campaign.get("budget_millicents"))),
            spent_millicents=as_int(ledger.get("spent_millicents")),
            daily_cap_millicents=None if cap is None else int(cap),
            spend_day=ledger.get("spend_day"),
            day_spent_millicents=as_int(ledger.get("day_spent_millicents")),
            starts_at=parse_window_bound(campaign.get("start_date"), end=False),
            ends_at=parse_window_bound(campaign.get("end_date"), end=True),
            end_date=campaign.get("end_date"),
            created_at=parse_iso(created) if created else None,
            memory=PacingMemory.from_ledger(ledger),
        )

    @property
    def remaining_budget(self) -> int:
        return max(0, self.budget_millicents - self.spent_millicents)

    def spent_on(self, day: str) -> int:
        """Spend counted against `day`: the ledger's day counter only while it counts that day (before the
        midnight roll it still holds yesterday's figure, which is not today's)."""
        return self.day_spent_millicents if self.spend_day == day else 0


# ---- clock helpers ------------------------------------------------------------------------------------------


def day_of(now: datetime) -> str:
    return clock.utc_date(now).isoformat()


def day_start(now: datetime) -> datetime:
    return datetime.combine(clock.utc_date(now), time.min, tzinfo=UTC)


def day_fraction_elapsed(now: datetime) -> float:
    return (now - day_start(now)) / DAY


def seconds_left_to_serve_today(state: "PacingState", now: datetime) -> float:
    """Seconds the campaign can still serve today: to midnight UTC, or to its end if that comes first."""
    until = day_start(now) + DAY
    if state.ends_at is not None and state.ends_at < until:
        until = state.ends_at
    return (until - now).total_seconds()


def slot_of(now: datetime) -> str:
    """The ISO start of the JOB_INTERVAL slot containing `now`: two runs in one slot do the work once."""
    start = day_start(now)
    slots = (now - start) // JOB_INTERVAL
    moment = start + slots * JOB_INTERVAL
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- targets ------------------------------------------------------------------------------------------------


def is_past_end(state: PacingState, now: datetime) -> bool:
    return state.ends_at is not None and now > state.ends_at


def is_out_of_budget(state: PacingState) -> bool:
    """The remaining budget cannot pay for one more impression."""
    return budget_cannot_pay_one_impression(state.budget_millicents, state.spent_millicents, state.cpm_bid_cents)


def days_left(state: PacingState, now: datetime) -> int | None:
    """UTC days from today through the last day the campaign serves, today included; None without an end_date.
    An end at midnight serves nothing on its own date (a bare end_date "2026-08-31" is stored as its midnight)."""
    if state.ends_at is None:
        return None
    end = state.ends_at.astimezone(UTC)
    # Counted without date arithmetic past the end, which overflows for an end in year 1 (a valid ISO date).
    serves_on_end_date = end.time() != time(0)
    return max(1, (end.date() - clock.utc_date(now)).days + serves_on_end_date)


def budget_left_at_day_start(state: PacingState, now: datetime) -> int:
    return max(0, state.budget_millicents - (state.spent_millicents - state.spent_on(day_of(now))))


def daily_target(state: PacingState, now: datetime) -> int | None:
    """Today's even-delivery target in millicents (module docstring), or None when the campaign is unpaced."""
    left = budget_left_at_day_start(state, now)
    if state.daily_cap_millicents is not None:
        return min(state.daily_cap_millicents, left)
    days = days_left(state, now)
    if days is None:
        return None
    return -(-left // days)  # rounded up: an even split must not leave a remainder unspent on the last day


def expected_by_now(target: int, now: datetime) -> int:
    """Even delivery: the share of today's target the elapsed fraction of the day should have spent."""
    return int(target * day_fraction_elapsed(now))


def pacing_status(spent_today: int, target: int | None, now: datetime) -> PacingStatus:
    """on_pace within max(ON_PACE_TOLERANCE x expected, ON_PACE_FLOOR_OF_TARGET x target) of the even line;
    below it under_pacing, above it over_pacing. Unpaced campaigns (no target) are on_pace by definition."""
    if target is None or target <= 0:
        return "on_pace"
    expected = expected_by_now(target, now)
    tolerance = max(ON_PACE_TOLERANCE * expected, ON_PACE_FLOOR_OF_TARGET * target)
    if spent_today < expected - tolerance:
        return "under_pacing"
    if spent_today > expected + tolerance:
        return "over_pacing"
    return "on_pace"


# ---- throttle controller ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    throttle: float
    demand_rate: float | None  # the updated estimate to remember (millicents per second at throttle 1)
    target: int | None
    spent_today: int
    reason: str


def clamp_throttle(value: float) -> float:
    return min(MAX_THROTTLE, max(MIN_THROTTLE, value))


def estimate_demand(state: PacingState, now: datetime, cap_reached: bool) -> float | None:
    """The smoothed spend rate at throttle 1, updated with the interval since the last run when it was measured
    today, under a known throttle, and not cut short by the cap (then it says nothing about demand)."""
    memory = state.memory
    previous = memory.demand_rate
    today = day_of(now)
    if (
        cap_reached
        or memory.day != today
        or memory.computed_at is None
        or memory.day_spent_millicents is None
        or memory.throttle is None
        or memory.throttle <= 0
    ):
        return previous
    seconds = (now - memory.computed_at).total_seconds()
    if seconds <= 0:
        return previous
    spent_since = max(0, state.spent_on(today) - memory.day_spent_millicents)
    sample = spent_since / seconds / memory.throttle
    if previous is None:
        return sample
    return DEMAND_SMOOTHING * sample + (1 - DEMAND_SMOOTHING) * previous


def next_throttle(state: PacingState, now: datetime) -> ThrottleDecision:
    """The throttle /match should apply from now until the next run (module docstring)."""
    today = day_of(now)
    spent_today = state.spent_on(today)
    target = daily_target(state, now)
    if target is None:
        return ThrottleDecision(MAX_THROTTLE, state.memory.demand_rate, None, spent_today, "unpaced")
    remaining = target - spent_today
    cap_reached = cannot_pay_one_impression(remaining, state.cpm_bid_cents)
    demand = estimate_demand(state, now, cap_reached)
    if cap_reached:
        return ThrottleDecision(MIN_THROTTLE, demand, target, spent_today, "target reached")
    required = remaining / max(1.0, seconds_left_to_serve_today(state, now))
    if demand is None or demand <= 0:
        return ThrottleDecision(MAX_THROTTLE, demand, target, spent_today, "no demand measured yet")
    return ThrottleDecision(clamp_throttle(required / demand), demand, target, spent_today, "paced")


def effective_throttle(throttle: float | None, computed_at: datetime | None, now: datetime) -> float | None:
    """The throttle /match applies: the stored one while fresh (THROTTLE_STALE_AFTER), else None (no pacing)."""
    if throttle is None or computed_at is None or now - computed_at > THROTTLE_STALE_AFTER:
        return None
    return clamp_throttle(throttle)


def average_daily_spend(state: PacingState, now: datetime) -> float:
    """Spend per UTC day since the campaign could first spend (the later of start_date and creation: a start_date
    before the campaign existed spent nothing on those days), today included."""
    first = max((moment for moment in (state.starts_at, state.created_at) if moment is not None), default=None)
    first_day: date = clock.utc_date(first if first is not None else now)
    days = max(1, (clock.utc_date(now) - first_day).days + 1)
    return state.spent_millicents / days
