"""The reporting aggregator's cost per impression: DynamoDB writes per billed impression, amortized.

Bills impressions with billing's own transaction (arbiter.ads.billing.repository.record) in moto, feeds the
impressions table's stream through the template's aggregator handler (as the local stack does, batches of 100),
counts what the aggregator writes, then checks that the rollups reconcile exactly with the ledgers.
Run: `.venv/bin/python -m benchmarks.aggregator_cost` (about two minutes: moto is slow at transactions).

WCU model (on-demand): a transactional write costs 2 WCU per 1 KB of item (markers and counters are < 1 KB);
a sketch PutItem costs ceil(item KB) WCU and its strongly consistent GetItem ceil(item / 4 KB) RCU.
"""

import benchmarks.offline_aws  # noqa: F401  (first: fake AWS credentials before boto3 loads)

# isort: split

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moto import mock_aws

from arbiter import aws
from arbiter.ads.billing import repository as billing
from arbiter.ads.billing.models import ImpressionCharge
from arbiter.ads.billing.revenue_share import split_charge
from arbiter.ads.reporting import rollups
from arbiter.auth import keys
from arbiter.devstack import moto_transactions
from arbiter.devstack.gateway import Gateway
from arbiter.devstack.streams import StreamFeed, stream_functions
from arbiter.devstack.tables import create_tables

warnings.filterwarnings("ignore")

COUNTRIES = ["US", "GB", "DE", "FR", "BR", None]
TRANSACTIONAL_WCU = 2
SKETCH_ITEM_OVERHEAD_BYTES = 120  # keys, version, estimate, updated_at


@dataclass(frozen=True)
class Scenario:
    name: str
    impressions: int
    campaigns: int
    games: int
    users: int


SCENARIOS = [
    Scenario("one campaign, one game (a batch hits few counters)", 999, 1, 1, 400),
    Scenario("3 campaigns x 3 games, 6 countries, 2 creatives, 3 days", 3000, 3, 3, 2000),
]


class Totals:
    def __init__(self) -> None:
        self.reports: list[rollups.ApplyReport] = []

    def wrap(self):
        original = rollups.apply

        def counting(facts):
            report = original(facts)
            self.reports.append(report)
            return report

        rollups.apply = counting
        return original


def _call(gateway: Gateway, method: str, path: str, key: str, body=None) -> dict:
    response = gateway.request(method, path, headers={"Authorization": f"Bearer {key}"}, body=body)
    if response.status >= 300:
        raise SystemExit(f"{method} {path} -> {response.status}: {response.body}")
    return response.json()


def run(scenario: Scenario) -> dict:
    with mock_aws():
        aws.reset_clients()
        create_tables(aws.dynamodb_client())
        aws.reset_clients()
        keys.forget_verified_keys()
        gateway = Gateway()
        key = keys.create_key("bench-tenant").api_key
        (function,) = [fn for fn in stream_functions() if fn.logical_id == "ReportsAggregatorFunction"]
        feed = StreamFeed(function, function.table_logical_id)
        _call(gateway, "POST", "/api/ads/register", key, {"company_name": "Bench", "contact_email": "b@example.com"})
        _call(gateway, "POST", "/api/ads/deposit", key, {"amount_cents": 10_000_000})
        campaigns = []
        for index in range(scenario.campaigns):
            body = {"name": f"Bench {index}", "budget_cents": 1_000_000, "cpm_bid_cents": 250 + 50 * index}
            campaign = _call(gateway, "POST", "/api/ads/campaigns", key, body)
            creatives = [
                _call(gateway, "POST", f"/api/ads/campaigns/{campaign['id']}/creatives", key, body)["id"]
                for body in (
                    {"creative_type": "product_mention", "brand_name": "Bench"},
                    {"creative_type": "product_mention", "brand_name": "Bench", "product_name": "Two"},
                )
            ]
            affinities = [
                _call(gateway, "POST", f"/api/ads/campaigns/{campaign['id']}/affinities", key, body)["id"]
                for body in (
                    {"affinity_type": "mood", "affinity_value": "tense", "weight": 1.2},
                    {"affinity_type": "lighting", "affinity_value": "warm", "weight": 1.0},
                )
            ]
            _call(gateway, "POST", f"/api/ads/campaigns/{campaign['id']}/activate", key)
            campaigns.append((campaign, creatives, affinities))
        games = []
        for index in range(scenario.games):
            body = {"creator_id": "dev", "placement_types": ["product_mention"], "revenue_share_pct": 70 - 5 * index}
            _call(gateway, "POST", f"/api/ads/placements/bench_game_{index}", key, body)
            games.append((f"bench_game_{index}", 7000 - 500 * index))
        today = datetime.now(UTC).date()
        days = [(today - timedelta(days=offset)).isoformat() for offset in (2, 1, 0)]
        per_day = scenario.impressions // len(days)
        charged = {campaign["id"]: 0 for campaign, _, _ in campaigns}
        earned = {game_id: 0 for game_id, _ in games}
        started = time.perf_counter()
        for day in days:
            for campaign, _, _ in campaigns:
                aws.campaigns_table().update_item(
                    Key={"PK": f"CAMPAIGN#{campaign['id']}", "SK": "LEDGER"},
                    UpdateExpression="SET spend_day = :day, day_spent_millicents = :zero",
                    ExpressionAttributeValues={":day": day, ":zero": 0},
                )
            for index in range(per_day):
                campaign, creatives, affinities = campaigns[index % len(campaigns)]
                game_id, bps = games[(index // len(campaigns)) % len(games)]
                price = campaign["cpm_bid_cents"]
                share, take = split_charge(price, bps)
                billing.record(
                    ImpressionCharge(
                        impression_id=f"imp_bench{day.replace('-', '')}{index:06d}",
                        developer_tenant_id="bench-tenant",
                        advertiser_tenant_id="bench-tenant",
                        advertiser_id=campaign["advertiser_id"],
                        campaign_id=campaign["id"],
                        creative_id=creatives[index % 2],
                        game_id=game_id,
                        creator_id="dev",
                        user_id=f"player_{index % scenario.users}",
                        session_id="sess",
                        country_code=COUNTRIES[index % len(COUNTRIES)],
                        affinity_score=0.5,
                        contributions={affinities[index % 2]: 0.25},
                        charged_millicents=price,
                        developer_share_millicents=share,
                        platform_take_millicents=take,
                        budget_millicents=1_000_000_000,
                        day=day,
                        recorded_at=f"{day}T12:00:00Z",
                        idempotency_source="none",
                    )
                )
                charged[campaign["id"]] += price
                earned[game_id] += share
        billed_seconds = time.perf_counter() - started
        totals = Totals()
        original = totals.wrap()
        try:
            started = time.perf_counter()
            delivered = feed.poll_once()
            aggregate_seconds = time.perf_counter() - started
        finally:
            rollups.apply = original
        return _summary(scenario, totals, delivered, billed_seconds, aggregate_seconds, charged, earned)


def _summary(scenario, totals, delivered, billed_seconds, aggregate_seconds, charged, earned) -> dict:
    reports = totals.reports
    impressions = sum(report.applied for report in reports)
    markers = sum(report.marker_writes for report in reports)
    counters = sum(report.counter_writes for report in reports)
    sketch_writes = sum(report.sketch_writes for report in reports)
    sketch_bytes = sum(report.sketch_bytes_written for report in reports)
    sketch_wcu = sum(
        math.ceil((report.sketch_bytes_written + SKETCH_ITEM_OVERHEAD_BYTES * report.sketch_writes) / 1024)
        for report in reports
    )
    # Reconciliation: counters vs the ledger and the games' EARNINGS items, exactly.
    table = aws.dynamodb_resource().Table(os.environ["IMPRESSIONS_TABLE"])
    exact = True
    for campaign_id, spent in charged.items():
        ledger = aws.campaigns_table().get_item(Key={"PK": f"CAMPAIGN#{campaign_id}", "SK": "LEDGER"})["Item"]
        rows = table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :day)",
            ExpressionAttributeValues={":pk": f"AGG#CAMP#{campaign_id}", ":day": "DAY#"},
        )["Items"]
        exact &= int(ledger["spent_millicents"]) == spent == sum(int(row["spent_millicents"]) for row in rows)
    for game_id, share in earned.items():
        item = aws.campaigns_table().get_item(Key={"PK": f"GAME#{game_id}", "SK": "EARNINGS"})["Item"]
        rows = table.query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :day)",
            ExpressionAttributeValues={":pk": f"AGG#GAME#{game_id}", ":day": "DAY#"},
        )["Items"]
        exact &= int(item["earned_millicents"]) == share == sum(int(row["earned_millicents"]) for row in rows)
    return {
        "scenario": scenario.name,
        "impressions": impressions,
        "delivered": delivered,
        "batches": len(reports),
        "transactions": sum(report.transactions for report in reports),
        "markers_per_imp": markers / impressions,
        "counters_per_imp": counters / impressions,
        "sketch_writes_per_imp": sketch_writes / impressions,
        "sketch_kb_per_write": sketch_bytes / max(1, sketch_writes) / 1024,
        "wcu_per_imp": (TRANSACTIONAL_WCU * (markers + counters) + sketch_wcu) / impressions,
        "reconciled": exact,
        "bill_s": billed_seconds,
        "aggregate_s": aggregate_seconds,
    }


def main() -> int:
    moto_transactions.install()
    print(
        "| scenario | impressions | batches | txns | markers/imp | counter writes/imp | sketch writes/imp "
        "| KB/sketch write | WCU/imp | ledger == rollups |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for scenario in SCENARIOS:
        row = run(scenario)
        ok &= row["reconciled"] and row["delivered"] == row["impressions"]
        verdict = "exact" if row["reconciled"] else "NO"
        print(
            f"| {row['scenario']} | {row['impressions']:,} | {row['batches']} | {row['transactions']} "
            f"| {row['markers_per_imp']:.2f} | {row['counters_per_imp']:.2f} | {row['sketch_writes_per_imp']:.3f} "
            f"| {row['sketch_kb_per_write']:.1f} | {row['wcu_per_imp']:.2f} | {verdict} |",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
