"""Budget pacing (issue 3 §3): the pure math, the analytics figures, and the scheduled job's transitions
(completed, exhausted, day rollover), idempotence, late runs, and the throttle reaching /match's cache."""

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.ads.advertisers.repository import advertiser_key
from arbiter.ads.campaigns import repository as campaigns_repository
from arbiter.ads.pacing import calculations as calc
from arbiter.ads.pacing import job
from arbiter.ads.pacing import repository as pacing_repository
from arbiter.ads.pacing.calculations import PacingMemory, PacingState
from arbiter.ads.pacing.figures import pacing_figures
from arbiter.ads.serving import cache
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.scheduler import Scheduler
from arbiter.devstack.template import scheduled_functions
from scripts import generate_events
from tests.ads_fixtures import ManualClock, active_campaign, campaign_item, ledger_item, set_ledger

NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
TODAY = "2026-06-10"
YESTERDAY = "2026-06-09"


def state(**overrides: Any) -> PacingState:
    """A running campaign: 1,000 cents budget, 100 cents daily cap, 1-cent impressions (CPM 1,000)."""
    fields: dict[str, Any] = {
        "campaign_id": "camp_test",
        "status": "active",
        "cpm_bid_cents": 1000,
        "budget_millicents": 1_000_000,
        "spent_millicents": 0,
        "daily_cap_millicents": 100_000,
        "spend_day": TODAY,
        "day_spent_millicents": 0,
        "starts_at": datetime(2026, 6, 1, tzinfo=UTC),
        "ends_at": datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC),
        "end_date": "2026-06-30T23:59:59Z",
        "created_at": datetime(2026, 5, 30, tzinfo=UTC),
        "memory": PacingMemory(),
    }
    fields.update(overrides)
    return PacingState(**fields)


# ---- targets and status -------------------------------------------------------------------------------------


def test_the_daily_target_is_the_cap_bounded_by_the_budget_left_at_the_start_of_the_day():
    assert calc.daily_target(state(), NOON) == 100_000
    # 950 of 1,000 cents spent before today and 20 today: 50 cents were left this morning, less than the cap
    low = state(spent_millicents=970_000, day_spent_millicents=20_000)
    assert calc.daily_target(low, NOON) == 50_000


def test_without_a_cap_the_target_splits_the_budget_left_over_the_days_left():
    # 21 days from the 10th through the 30th, today included; today's own spend does not move the target
    uncapped = state(daily_cap_millicents=None, spent_millicents=160_000, day_spent_millicents=50_000)
    assert calc.days_left(uncapped, NOON) == 21
    assert calc.daily_target(uncapped, NOON) == -(-890_000 // 21)  # 42,381 (rounded up)


def test_a_campaign_without_cap_or_end_date_is_unpaced():
    unpaced = state(daily_cap_millicents=None, ends_at=None, end_date=None)
    assert calc.daily_target(unpaced, NOON) is None
    decision = calc.next_throttle(unpaced, NOON)
    assert (decision.throttle, decision.reason) == (1.0, "unpaced")
    assert calc.pacing_status(999_999, None, NOON) == "on_pace"


def test_yesterdays_day_counter_is_not_todays_spend():
    stale = state(spend_day=YESTERDAY, day_spent_millicents=90_000, spent_millicents=90_000)
    assert stale.spent_on(TODAY) == 0
    assert calc.daily_target(stale, NOON) == 100_000


@pytest.mark.parametrize(
    ("spent_today", "status"),
    [(44_000, "under_pacing"), (45_001, "on_pace"), (50_000, "on_pace"), (55_000, "on_pace"), (55_001, "over_pacing")],
)
def test_pacing_status_compares_todays_spend_with_the_even_line_within_ten_percent(spent_today, status):
    # At noon the even line is half of the 100,000 target: on pace within 5,000 of 50,000
    assert calc.pacing_status(spent_today, 100_000, NOON) == status


def test_early_in_the_day_one_impression_is_not_over_pacing():
    # 00:05: the line is ~347, the floor of the tolerance is 1% of the target (1,000)
    assert calc.pacing_status(1000, 100_000, datetime(2026, 6, 10, 0, 5, tzinfo=UTC)) == "on_pace"
    assert calc.pacing_status(2000, 100_000, datetime(2026, 6, 10, 0, 5, tzinfo=UTC)) == "over_pacing"


def test_slots_are_five_minute_boundaries():
    assert calc.slot_of(datetime(2026, 6, 10, 12, 7, 59, tzinfo=UTC)) == "2026-06-10T12:05:00Z"
    assert calc.slot_of(datetime(2026, 6, 10, 0, 0, tzinfo=UTC)) == "2026-06-10T00:00:00Z"


# ---- the controller -----------------------------------------------------------------------------------------


def measured(throttle: float, spent_then: int, minutes_ago: int = 5, demand: float | None = None) -> PacingMemory:
    return PacingMemory(
        throttle=throttle,
        slot="2026-06-10T11:55:00Z",
        computed_at=NOON - timedelta(minutes=minutes_ago),
        day=TODAY,
        day_spent_millicents=spent_then,
        demand_rate=demand,
    )


def test_the_throttle_is_the_required_rate_over_the_measured_demand():
    # Given half the cap spent by noon, and 1,500 millicents spent in the last 5 minutes at throttle 0.5
    paced = state(spent_millicents=50_000, day_spent_millicents=50_000, memory=measured(0.5, 48_500))
    decision = calc.next_throttle(paced, NOON)
    # Then demand at throttle 1 is 1,500 / 300 s / 0.5 = 10 a second; 50,000 over 43,200 s needs 1.157 a second
    assert decision.demand_rate == pytest.approx(10.0)
    assert decision.throttle == pytest.approx((50_000 / 43_200) / 10.0)
    assert decision.reason == "paced"


def test_a_campaign_ending_at_midnight_spreads_its_budget_over_the_days_it_serves():
    # Given a campaign without a cap whose end_date is a bare date: stored as that date's midnight, so it
    # serves through the 11th and nothing on the 12th
    ending = state(daily_cap_millicents=None, ends_at=datetime(2026, 6, 12, tzinfo=UTC))

    # Then at noon on the 10th two days are left (10th, 11th), not three: the budget is not under-delivered
    assert calc.days_left(ending, NOON) == 2
    assert calc.daily_target(ending, NOON) == 500_000
    # And on its last day, the 11th, all that is left is today's target
    last_day = datetime(2026, 6, 11, 12, 0, tzinfo=UTC)
    assert calc.days_left(ending, last_day) == 1
    # And an end during the day serves on that day too
    assert calc.days_left(state(daily_cap_millicents=None, ends_at=datetime(2026, 6, 12, 9, tzinfo=UTC)), NOON) == 3


def test_on_its_last_day_the_throttle_paces_to_the_end_not_to_midnight():
    # Given a campaign ending today at 18:00, half of today's target left at noon, demand measured as before
    memory = measured(0.5, 48_500)
    to_midnight = state(spent_millicents=50_000, day_spent_millicents=50_000, memory=memory)
    to_six = replace(to_midnight, ends_at=datetime(2026, 6, 10, 18, 0, tzinfo=UTC))

    # Then what is left must go out in the 6 hours it still serves: twice the rate of the 12 hours to midnight
    assert calc.next_throttle(to_six, NOON).throttle == pytest.approx((50_000 / 21_600) / 10.0)
    assert calc.next_throttle(to_six, NOON).throttle == pytest.approx(
        2 * calc.next_throttle(to_midnight, NOON).throttle
    )


def test_the_average_spend_counts_from_creation_when_the_start_date_is_earlier():
    # Given a campaign created today with a start_date forty days back, which spent 20,000 cents today
    backdated = state(
        starts_at=datetime(2026, 5, 1, tzinfo=UTC),
        created_at=datetime(2026, 6, 10, 8, 0, tzinfo=UTC),
        spent_millicents=20_000_000,
    )

    # Then its average is today's spend, not today's spend over forty days it did not exist
    assert calc.average_daily_spend(backdated, NOON) == 20_000_000


def test_demand_is_smoothed_with_the_previous_estimate():
    paced = state(spent_millicents=50_000, day_spent_millicents=50_000, memory=measured(0.5, 48_500, demand=20.0))
    assert calc.next_throttle(paced, NOON).demand_rate == pytest.approx(0.5 * 10.0 + 0.5 * 20.0)


def test_behind_the_line_with_little_demand_the_throttle_opens_fully():
    behind = state(spent_millicents=10_000, day_spent_millicents=10_000, memory=measured(0.2, 9_900))
    assert calc.next_throttle(behind, NOON).throttle == 1.0


def test_far_ahead_of_demand_the_throttle_stays_at_its_floor():
    flooded = state(spent_millicents=50_000, day_spent_millicents=50_000, memory=measured(1.0, 0))
    assert calc.next_throttle(flooded, NOON).throttle == calc.MIN_THROTTLE


def test_the_target_reached_closes_the_throttle_and_keeps_the_demand_estimate():
    done = state(spent_millicents=99_500, day_spent_millicents=99_500, memory=measured(0.3, 90_000, demand=7.0))
    decision = calc.next_throttle(done, NOON)
    assert (decision.throttle, decision.reason, decision.demand_rate) == (calc.MIN_THROTTLE, "target reached", 7.0)


def test_a_new_day_keeps_yesterdays_demand_and_a_first_run_opens_fully():
    overnight = replace_memory(measured(0.4, 80_000, demand=3.0), day=YESTERDAY)
    assert calc.next_throttle(state(memory=overnight), NOON).demand_rate == 3.0
    first = calc.next_throttle(state(), NOON)
    assert (first.throttle, first.reason) == (1.0, "no demand measured yet")


def test_a_late_run_measures_over_the_longer_interval():
    # The previous run was 45 minutes ago (9 missed slots): the sample spans all of it
    late = state(spent_millicents=50_000, day_spent_millicents=50_000, memory=measured(0.5, 36_500, minutes_ago=45))
    assert calc.next_throttle(late, NOON).demand_rate == pytest.approx(13_500 / 2700 / 0.5)


def test_a_stale_throttle_is_ignored_by_match():
    assert calc.effective_throttle(0.2, NOON - timedelta(minutes=29), NOON) == 0.2
    assert calc.effective_throttle(0.2, NOON - timedelta(minutes=31), NOON) is None
    assert calc.effective_throttle(None, NOON, NOON) is None


def replace_memory(memory: PacingMemory, **changes: Any) -> PacingMemory:
    return replace(memory, **changes)


# ---- analytics figures --------------------------------------------------------------------------------------


def test_the_figures_reproduce_the_seeds_pacing_example():
    # Given the seed's campaign: 500,000 budget, 38,075 spent over 7 days, 12,400 of a 25,000 cap today
    campaign = {
        "id": "camp_abc123",
        "status": "active",
        "cpm_bid_cents": 250,
        "budget_millicents": 500_000_000,
        "daily_cap_millicents": 25_000_000,
        "start_date": "2026-02-23T00:00:00Z",
        "end_date": "2026-12-31T23:59:59Z",
        "created_at": "2026-02-20T10:00:00Z",
    }
    ledger = {
        "campaign_id": "camp_abc123",
        "budget_millicents": 500_000_000,
        "spent_millicents": 38_075_000,
        "spend_day": "2026-03-01",
        "day_spent_millicents": 12_400_000,
    }
    # When the figures are computed at 18:00 on the seed's day
    output = pacing_figures(campaign, ledger, datetime(2026, 3, 1, 18, 0, tzinfo=UTC)).to_output()
    body = json.loads(output.model_dump_json())
    # Then they are the seed's numbers
    assert {
        name: body[name] for name in body if name not in ("daily_target_cents", "expected_today_cents", "throttle")
    } == {
        "campaign_id": "camp_abc123",
        "budget_cents": 500000,
        "spent_cents": 38075,
        "remaining_cents": 461925,
        "daily_cap_cents": 25000,
        "today_spent_cents": 12400,
        "today_remaining_cents": 12600,
        "avg_daily_spend_cents": 5439,
        "projected_exhaustion_date": "2026-05-25",
        "days_remaining": 85,
        "pacing_status": "under_pacing",  # the even line at 18:00 is 18,750
        "utilization_pct": 49.6,
    }
    assert (body["daily_target_cents"], body["expected_today_cents"], body["throttle"]) == (25000, 18750, 1.0)


def test_nothing_spent_projects_no_exhaustion():
    campaign = {
        "id": "camp_new",
        "cpm_bid_cents": 250,
        "budget_millicents": 1_000_000,
        "created_at": "2026-06-01T00:00:00Z",
    }
    figures = pacing_figures(campaign, {"budget_millicents": 1_000_000, "spend_day": TODAY}, NOON)
    assert (figures.days_remaining, figures.projected_exhaustion_date, figures.utilization_pct) == (None, None, None)
    assert figures.today_remaining_millicents == 1_000_000


def test_a_trickle_of_spend_projects_days_but_no_date_past_the_calendar():
    # Given a 50,000-dollar budget of which 1.2 cents went out over ten days
    campaign = {
        "id": "camp_trickle",
        "cpm_bid_cents": 100,
        "budget_millicents": 5_000_000_000,
        "start_date": "2026-06-01T00:00:00Z",
        "created_at": "2026-06-01T00:00:00Z",
    }
    ledger = {"budget_millicents": 5_000_000_000, "spent_millicents": 1_200, "spend_day": TODAY}
    # When the figures are computed
    figures = pacing_figures(campaign, ledger, NOON)
    # Then the budget lasts ~42 billion days at that rate: counted, with no calendar date to show for it
    assert figures.days_remaining == math.ceil((5_000_000_000 - 1_200) / (1_200 / 10))
    assert figures.projected_exhaustion_date is None
    assert figures.to_output().projected_exhaustion_date is None


# ---- the job against DynamoDB ---------------------------------------------------------------------------------


@pytest.fixture
def at(dynamodb):
    manual = ManualClock(NOON - timedelta(hours=3))
    clock.set_clock(manual)
    yield manual
    clock.set_clock(None)


@pytest.fixture
def running(api, tenant_key, at) -> str:
    """The seed's campaign (June 1 - Aug 31, 25,000-cent cap, 250-cent CPM), active since 09:00 on June 10."""
    return active_campaign(api, tenant_key)["id"]


def serving_ids() -> set[str]:
    items = aws.campaigns_table().query(IndexName="GSI2", KeyConditionExpression=Key("GSI2PK").eq("SERVING"))
    return {item["id"] for item in items["Items"]}


def pacing_attributes(campaign_id: str) -> dict[str, Any]:
    return {name: value for name, value in ledger_item(campaign_id).items() if name.startswith("pacing_")}


def test_a_campaign_past_its_end_date_completes_and_cannot_be_activated_again(api, tenant_key, running, at):
    # Given the clock one second past the campaign's end_date
    at.moment = datetime(2026, 9, 1, 0, 0, 0, tzinfo=UTC)
    # When the job runs, twice
    first, second = job.run(), job.run()
    # Then the first run completed it and took it out of the serving index; the second found nothing to do
    assert first.completed == [running]
    assert (second.campaigns, second.completed) == (0, [])
    assert campaign_item(running)["status"] == "completed"
    assert "GSI2PK" not in campaign_item(running)
    assert running not in serving_ids()
    assert api.get(f"/api/ads/campaigns/{running}", key=tenant_key).json()["status"] == "completed"
    # And completed is terminal: it can neither be activated nor changed
    refused = api.post(f"/api/ads/campaigns/{running}/activate", key=tenant_key)
    assert refused.status == 409
    assert "completed" in refused.json()["detail"]
    before = campaign_item(running)
    changed = api.patch(f"/api/ads/campaigns/{running}", key=tenant_key, json={"end_date": "2026-12-31"})
    assert changed.status == 409
    assert changed.json()["detail"] == (
        "Campaign has completed (its end_date passed); create a new campaign to run again"
    )
    assert campaign_item(running) == before


def test_completion_yields_to_an_end_date_extended_meanwhile(running, at):
    at.moment = datetime(2026, 9, 1, tzinfo=UTC)
    # The job judged the old end_date, but the advertiser extended it before the write
    assert pacing_repository.complete(running, "2026-08-01T00:00:00Z", clock.now_iso()) is False
    assert campaign_item(running)["status"] == "active"


def test_a_campaign_out_of_budget_is_exhausted(running, at):
    # Given a ledger that cannot pay one more 250-millicent impression
    set_ledger(running, spent_millicents=500_000_000 - 249)
    # When the job runs
    report = job.run()
    # Then the campaign is exhausted and no longer served
    assert report.exhausted == [running]
    assert campaign_item(running)["status"] == "exhausted"
    assert running not in serving_ids()


def test_exhaustion_yields_to_a_budget_raised_meanwhile(running, at):
    set_ledger(running, spent_millicents=500_000_000 - 249)
    # The job read the old budget; the ledger now holds a larger one
    set_ledger(running, budget_millicents=600_000_000)
    assert campaigns_repository.exhaust_if_out_of_budget(running, 500_000_000, 250, clock.now_iso()) is False
    assert campaign_item(running)["status"] == "active"


def test_exhaustion_yields_to_a_bid_lowered_meanwhile(api, tenant_key, running, at):
    # Given 200 millicents of budget left: not one impression at the 250-cent bid the job (or billing) read
    set_ledger(running, spent_millicents=500_000_000 - 200)
    # But the advertiser lowers the bid to 100 cents before the exhaust is written
    assert api.patch(f"/api/ads/campaigns/{running}", key=tenant_key, json={"cpm_bid_cents": 100}).status == 200
    # Then the exhaust priced at the old bid changes nothing, for the budget and for the balance, and it serves on
    assert campaigns_repository.exhaust_if_out_of_budget(running, 500_000_000, 250, clock.now_iso()) is False
    assert campaigns_repository.exhaust_if_balance_low(running, "tenant-a", 10**9, clock.now_iso()) is False
    assert campaign_item(running)["status"] == "active"
    assert running in serving_ids()


def test_an_advertiser_without_balance_for_one_impression_is_exhausted(running, at):
    aws.campaigns_table().update_item(
        Key=advertiser_key("tenant-a"),
        UpdateExpression="SET balance_millicents = :low",
        ExpressionAttributeValues={":low": 100},
    )
    assert job.run().exhausted == [running]
    assert campaign_item(running)["status"] == "exhausted"


def test_the_day_counter_rolls_at_midnight_once(running, at):
    # Given a ledger that counted yesterday
    set_ledger(running, spend_day=TODAY, day_spent_millicents=7_000_000, spent_millicents=7_000_000)
    at.moment = datetime(2026, 6, 11, 0, 1, tzinfo=UTC)
    # When the job runs just after midnight, and again in the next slot
    first = job.run()
    at.moment = datetime(2026, 6, 11, 0, 6, tzinfo=UTC)
    second = job.run()
    # Then the first run rolled the counter to the new day; the second had nothing to roll
    assert (first.rolled, second.rolled) == ([running], [])
    ledger = ledger_item(running)
    assert (ledger["spend_day"], ledger["day_spent_millicents"], ledger["spent_millicents"]) == (
        "2026-06-11",
        0,
        7_000_000,
    )


def test_running_twice_in_a_slot_writes_the_throttle_once(running, at):
    # Given a paced run at 12:01 (4,000 cents of the 25,000 cap spent, measured from an 11:56 checkpoint)
    at.moment = datetime(2026, 6, 10, 11, 56, tzinfo=UTC)
    job.run()
    set_ledger(running, day_spent_millicents=4_000_000, spent_millicents=4_000_000)
    at.moment = datetime(2026, 6, 10, 12, 1, tzinfo=UTC)
    first = job.run()
    stored = pacing_attributes(running)
    # When the same slot runs again a minute later (a duplicate delivery)
    at.moment = datetime(2026, 6, 10, 12, 2, tzinfo=UTC)
    second = job.run()
    # Then it changed nothing
    assert running in first.throttled
    assert (second.throttled, second.already_paced) == ({}, 1)
    assert pacing_attributes(running) == stored
    assert stored["pacing_slot"] == "2026-06-10T12:00:00Z"


def test_an_out_of_order_run_for_an_earlier_slot_changes_nothing(running, at):
    at.moment = datetime(2026, 6, 10, 12, 1, tzinfo=UTC)
    job.run()
    stored = pacing_attributes(running)
    at.moment = datetime(2026, 6, 10, 11, 58, tzinfo=UTC)
    assert job.run().already_paced == 1
    assert pacing_attributes(running) == stored


def test_a_late_run_paces_from_state_and_clock(running, at):
    # Given a run at 12:00 at throttle 1 with 1,000 cents spent, then 47 minutes without a run
    set_ledger(running, day_spent_millicents=1_000_000, spent_millicents=1_000_000)
    at.moment = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    job.run()
    assert float(pacing_attributes(running)["pacing_throttle"]) == 1.0  # nothing measured yet
    set_ledger(running, day_spent_millicents=1_940_000, spent_millicents=1_940_000)
    # When the late run comes at 12:47
    at.moment = datetime(2026, 6, 10, 12, 47, tzinfo=UTC)
    report = job.run()
    # Then demand is measured over the 47 minutes, and the throttle follows today's remaining target
    demand = 940_000 / (47 * 60)
    required = (25_000_000 - 1_940_000) / (11 * 3600 + 13 * 60)
    attributes = pacing_attributes(running)
    assert float(attributes["pacing_demand"]) == pytest.approx(demand, rel=1e-5)
    assert report.throttled[running] == pytest.approx(min(1.0, required / demand))
    assert attributes["pacing_slot"] == "2026-06-10T12:45:00Z"


def test_match_reads_the_throttle_through_its_cache(running, at):
    # Given a job run that found today's target already spent (throttle at its floor)
    set_ledger(running, day_spent_millicents=25_000_000, spent_millicents=25_000_000)
    job.run()
    # When /match's cache reloads
    cache.clear()
    snapshot = cache.candidates()
    # Then the engine receives the throttle for this campaign
    assert snapshot.throttles == {running: calc.MIN_THROTTLE}
    # And once the throttle is stale (the job stopped), serving falls back to unpaced
    at.moment += calc.THROTTLE_STALE_AFTER + timedelta(seconds=1)
    cache.clear()
    assert cache.candidates().throttles == {}


def test_the_figures_accept_the_campaign_models(running, at):
    set_ledger(running, day_spent_millicents=5_000_000, spent_millicents=5_000_000)
    job.run()
    campaign, ledger = campaigns_repository.get(running)
    figures = pacing_figures(campaign, ledger, clock.now())
    assert (figures.today_spent_millicents, figures.daily_cap_millicents) == (5_000_000, 25_000_000)
    assert figures.throttle == float(ledger_item(running)["pacing_throttle"])


# ---- the function and its schedule ------------------------------------------------------------------------------


def test_the_pacing_function_runs_on_its_sample_event(running, at):
    (function,) = [fn for fn in scheduled_functions() if fn.logical_id == "PacingFunction"]
    event = json.loads(generate_events.event_path(function).read_text())
    assert event["detail-type"] == "Scheduled Event"
    handler = load_handler(function.code_uri, function.handler)
    report = handler(event, LambdaContext("PacingFunction"))
    assert report["campaigns"] == 1
    assert running in report["throttled"]


def test_the_local_stack_schedules_the_pacing_function():
    scheduler = Scheduler(speedup=10)
    schedule = scheduler.schedules["PacingFunction"]
    assert (schedule.expression, schedule.seconds, schedule.local_seconds) == ("rate(5 minutes)", 300, 30)


def test_a_throttle_write_racing_an_impression_transaction_is_retried(running, at, monkeypatch):
    # Given the ledger busy in an impression transaction on the first attempt
    table = aws.campaigns_table()
    real_update = table.update_item
    attempts = []

    def busy_once(**kwargs):
        attempts.append(kwargs)
        if len(attempts) == 1:
            error = {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}}
            raise ClientError(error, "UpdateItem")
        return real_update(**kwargs)

    monkeypatch.setattr(pacing_repository, "CONFLICT_BACKOFF_SECONDS", 0)
    monkeypatch.setattr(pacing_repository.aws, "campaigns_table", lambda: table)
    monkeypatch.setattr(table, "update_item", busy_once)
    # When the job runs
    report = job.run()
    # Then the second attempt wrote the throttle
    assert (len(attempts), report.failed, list(report.throttled)) == (2, [], [running])
