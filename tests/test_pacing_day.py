"""A simulated UTC day of traffic through the real /match and /impressions logic with the pacing job on its
5-minute schedule (its real handler, found through template.yaml), under a clock the test controls.

Traffic follows a diurnal curve (peak ~3.2x the average at 20:00 UTC, trough ~0.06x at 08:00) whose unpaced
demand is DEMAND_OVER_CAP times the daily cap. Each minute draws a Poisson number of /match calls at random
seconds; each 200 is followed by its /impression (token attached). The serving cache reloads on its own TTL as
the clock moves. The figures go to docs/benchmarks.md:

    .venv/bin/pytest tests/test_pacing_day.py -q -s
"""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from arbiter import clock
from arbiter.ads.billing import logic as billing
from arbiter.ads.billing.models import RecordImpressionInput
from arbiter.ads.pacing import calculations as calc
from arbiter.ads.serving import logic as serving
from arbiter.ads.serving.models import MatchInput
from arbiter.auth import keys
from arbiter.auth.models import Principal, Scope
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.scheduler import scheduled_event
from arbiter.devstack.template import scheduled_functions
from arbiter.errors import ConflictError
from tests.ads_fixtures import ManualClock, add_creative, create_campaign, ledger_item, register_advertiser

DAY = datetime(2026, 6, 2, tzinfo=UTC)
GAME_ID = "pacing_day_game"
CPM_BID_CENTS = 3000  # one impression = 3,000 millicents = 3 cents
DAILY_CAP_CENTS = 600  # 200 impressions a day (moto costs ~10 ms of CPU a call: this keeps the test near 35 s)
DEMAND_OVER_CAP = 2.5  # unpaced demand over the day / daily cap
PEAK_HOUR = 20
SHAPE_K = 2.0  # exp(k cos): peak / mean = e^2 / I0(2) ~ 3.2
SEED = 20260602


def _raw_shape(minute: int) -> float:
    phase = 2 * math.pi * (minute / 60 - PEAK_HOUR) / 24
    return math.exp(SHAPE_K * math.cos(phase))


_SHAPE_MEAN = sum(_raw_shape(minute) for minute in range(24 * 60)) / (24 * 60)


def diurnal_shape(minute: int) -> float:
    """Traffic relative to the day's mean (mean 1 over the day)."""
    return _raw_shape(minute) / _SHAPE_MEAN


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: means here are small (a few requests a minute).
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@pytest.fixture
def manual_clock():
    manual = ManualClock(DAY - timedelta(minutes=30))
    clock.set_clock(manual)
    serving.set_rng(random.Random(SEED))
    yield manual
    clock.set_clock(None)
    serving.set_rng(None)


def test_a_simulated_day_lands_near_the_daily_cap_without_overspending(api, tenant_key, manual_clock):
    # Given an active campaign with a daily cap, running all month, and a game placing its ads
    register_advertiser(api, tenant_key, deposit_cents=100_000)
    campaign = create_campaign(
        api,
        tenant_key,
        budget_cents=500_000,
        cpm_bid_cents=CPM_BID_CENTS,
        daily_cap_cents=DAILY_CAP_CENTS,
        start_date="2026-06-01T00:00:00Z",
        end_date="2026-06-30T23:59:59Z",
        target_categories=[],
        target_tags=[],
    )
    add_creative(api, tenant_key, campaign["id"])
    assert api.post(f"/api/ads/campaigns/{campaign['id']}/activate", key=tenant_key).status == 200
    developer = keys.create_key("studio-pacing", [Scope.ADS_DEVELOPER])
    placement = {"creator_id": "dev_pacing", "placement_types": ["narrative_hook"], "revenue_share_pct": 70}
    assert api.post(f"/api/ads/placements/{GAME_ID}", key=developer.api_key, json=placement).status == 201
    principal = Principal(tenant_id="studio-pacing", key_id=developer.key_id, scopes=frozenset({Scope.ADS_DEVELOPER}))
    (pacing_function,) = [fn for fn in scheduled_functions() if fn.logical_id == "PacingFunction"]
    assert pacing_function.schedule == "rate(5 minutes)"
    pacing_handler = load_handler(pacing_function.code_uri, pacing_function.handler)

    # When a day of diurnal traffic runs, minute by minute, with the job at every 5-minute mark
    rng = random.Random(SEED)
    cap = DAILY_CAP_CENTS * 1000
    mean_per_minute = DEMAND_OVER_CAP * DAILY_CAP_CENTS * 1000 / CPM_BID_CENTS / (24 * 60)
    requests = impressions = refused = 0
    interval_ends: list[tuple[datetime, int]] = []
    for minute in range(24 * 60):
        start = DAY + timedelta(minutes=minute)
        if minute % 5 == 0:
            if minute:
                interval_ends.append((start, int(ledger_item(campaign["id"])["day_spent_millicents"])))
            manual_clock.moment = start
            pacing_handler(scheduled_event(pacing_function, "us-east-1"), LambdaContext("PacingFunction"))
        arrivals = sorted(
            rng.uniform(0.001, 59.999) for _ in range(poisson(rng, mean_per_minute * diurnal_shape(minute)))
        )
        for second in arrivals:
            manual_clock.moment = start + timedelta(seconds=second)
            requests += 1
            body = MatchInput(
                game_id=GAME_ID,
                user_id=f"player_{requests}",
                session_id=f"sess_{requests}",
                game_context={"category": "simulation", "narrative": "a quiet evening in the city"},
            )
            matched = serving.match(principal, body)
            if matched is None:
                continue
            impression = RecordImpressionInput(
                campaign_id=matched.campaign_id,
                creative_id=matched.creative_id,
                game_id=GAME_ID,
                impression_token=matched.impression_token,
            )
            try:
                billing.record_impression(principal, impression, None)
                impressions += 1
            except ConflictError:  # a refused charge (cap reached since the match) is counted, never billed
                refused += 1
    manual_clock.moment = DAY + timedelta(days=1) - timedelta(microseconds=1)
    ledger = ledger_item(campaign["id"])
    interval_ends.append((manual_clock.moment, int(ledger["day_spent_millicents"])))

    # Then the day's spend lands within 5% of the cap, the cap is never exceeded, and delivery stays near even
    day_spent = int(ledger["day_spent_millicents"])
    assert ledger["spend_day"] == DAY.date().isoformat()
    below_cap = [moment for moment, spent in interval_ends if cap - spent >= CPM_BID_CENTS]
    cap_reached_at = interval_ends[len(below_cap)][0] if len(below_cap) < len(interval_ends) else None
    leads = [spent - cap * calc.day_fraction_elapsed(moment) for moment, spent in interval_ends]
    overspent_intervals = sum(1 for _, spent in interval_ends if spent > cap)
    max_lead_pct = max(0.0, max(leads)) * 100 / cap
    print(
        f"\npacing day: requests={requests} impressions={impressions} refused={refused} "
        f"end-of-day spend={day_spent / 1000:.0f}/{cap / 1000:.0f} cents "
        f"({(day_spent - cap) * 100 / cap:+.2f}% vs cap), intervals over cap={overspent_intervals}, "
        f"max lead over the even line={max_lead_pct:.2f}% of cap, "
        f"cap reached at {cap_reached_at.strftime('%H:%M') if cap_reached_at else 'never'}"
    )
    assert overspent_intervals == 0
    assert day_spent <= cap
    assert abs(day_spent - cap) <= 0.05 * cap
    assert max_lead_pct <= 10.0
