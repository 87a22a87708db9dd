"""The reporting aggregator (impressions stream -> rollups): exactly once per impression, reconciled with the ledger.

Impressions are charged by billing's own transaction (billing.repository.record) and reach the aggregator the way
they reach it on the local stack: read from the moto table's stream, filtered by the template's FilterCriteria and
handed to the template's handler (functions/ads_aggregator/app.py) in Lambda's event shape.
"""

import json
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from arbiter import aws, clock
from arbiter.ads.reporting import aggregator, rollups
from arbiter.ads.reporting.facts import unique_user_key
from arbiter.ads.reporting.hll import HyperLogLog
from arbiter.auth import keys
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.streams import matches_pattern, stream_functions
from arbiter.money import millicents_to_cents
from scripts import generate_events
from tests.ads_fixtures import ledger_item
from tests.reporting_fixtures import Biller, CapturingFeed, placed_game, served_campaign

COUNTRIES = ["US", "GB", "DE", None]


pytestmark = pytest.mark.usefixtures("fast_transactions")


@pytest.fixture
def developer_key(dynamodb) -> str:
    return keys.create_key("studio-dev").api_key


@pytest.fixture
def world(api, tenant_key, developer_key):
    feed = CapturingFeed()  # opened before any impression: StartingPosition LATEST
    campaign = served_campaign(api, tenant_key, "tenant-a")
    game = placed_game(api, developer_key, "studio-dev", "my_game_id", 70)
    return feed, campaign, game


def _today(offset: int = 0) -> str:
    return (clock.now().date() - timedelta(days=offset)).isoformat()


def _figures(api, tenant_key, developer_key, campaign_id):
    paths = ["stats", "analytics/daily?days=3", "analytics/creatives", "analytics/geo", "analytics/affinities"]
    figures = {path: api.get(f"/api/ads/campaigns/{campaign_id}/{path}", key=tenant_key).json() for path in paths}
    figures["game"] = api.get("/api/ads/creator-revenue/my_game_id?days=3", key=developer_key).json()
    return figures


def test_replaying_a_stream_batch_twice_gives_the_same_figures(api, tenant_key, developer_key, world):
    # Given 40 billed impressions delivered once through the stream
    feed, campaign, game = world
    biller = Biller()
    for index in range(40):
        biller.charge(
            campaign,
            game,
            day=_today(),
            creative_id=campaign.creative_ids[index % 2],
            user_id=f"player_{index % 7}",
            country_code=COUNTRIES[index % 4],
            affinity_score=0.75,
            contributions={campaign.affinity_ids[0]: 0.5},
        )
    assert feed.drain() == 40
    first = _figures(api, tenant_key, developer_key, campaign.id)
    # When Lambda redelivers the very same batch (twice)
    for _ in range(2):
        assert aggregator.handle_batch(feed.events[0]) == {"batchItemFailures": []}
    # Then every figure is unchanged, and matches the ledger
    assert _figures(api, tenant_key, developer_key, campaign.id) == first
    assert first["stats"]["impressions"] == 40
    assert sum(Decimal(str(day["spent_cents"])) for day in first["analytics/daily?days=3"]["days"]) == Decimal(
        str(first["stats"]["spent_cents"])
    )
    assert first["stats"]["unique_users"] == 7
    assert first["analytics/affinities"]["affinities"][0]["impressions_influenced"] == 40


def test_a_redelivered_batch_overlapping_a_counted_one_counts_only_the_new_impressions(api, tenant_key, world):
    # Given a batch of 30 impressions of which the first 10 were already counted
    feed, campaign, game = world
    biller = Biller()
    for _ in range(30):
        biller.charge(campaign, game, day=_today(), user_id="player_1", country_code="US")
    feed.feed._read()
    records = list(feed.feed._pending)
    assert len(records) == 30
    aggregator.handle_batch({"Records": records[:10]})
    # When the whole batch arrives (a retry from an earlier checkpoint)
    assert aggregator.handle_batch({"Records": records}) == {"batchItemFailures": []}
    # Then each impression is counted exactly once
    geo = api.get(f"/api/ads/campaigns/{campaign.id}/analytics/geo", key=tenant_key).json()
    assert geo["countries"] == [{"country_code": "US", "impressions": 30, "unique_users": 1, "spent_cents": 7.5}]


def test_failed_writes_are_reported_and_the_retry_completes_exactly(api, tenant_key, world, monkeypatch):
    # Given 12 impressions from GB and US, and a sketch store that fails for the GB sketch only
    feed, campaign, game = world
    biller = Biller()
    for index in range(12):
        biller.charge(campaign, game, day=_today(), user_id=f"p{index}", country_code="GB" if index % 2 else "US")
    real_merge = rollups._merge_sketch

    def failing_for_gb(key, users, report):
        if key[1] == "GEO#GB":
            raise rollups.RollupWriteFailed([], "simulated outage")
        return real_merge(key, users, report)

    monkeypatch.setattr(rollups, "_merge_sketch", failing_for_gb)
    # When the stream delivers them
    feed.feed._read()
    records = list(feed.feed._pending)
    answer = aggregator.handle_batch({"Records": records})
    # Then exactly the GB records are reported for redelivery (Lambda resumes from the earliest of them)
    gb = {
        record["dynamodb"]["SequenceNumber"]
        for record in records
        if record["dynamodb"]["NewImage"]["country_code"]["S"] == "GB"
    }
    assert {item["itemIdentifier"] for item in answer["batchItemFailures"]} == gb
    # And once writes succeed again, the redelivery completes without counting anything twice
    monkeypatch.setattr(rollups, "_merge_sketch", real_merge)
    assert aggregator.handle_batch({"Records": records}) == {"batchItemFailures": []}
    geo = api.get(f"/api/ads/campaigns/{campaign.id}/analytics/geo", key=tenant_key).json()
    assert geo["countries"] == [
        {"country_code": "GB", "impressions": 6, "unique_users": 6, "spent_cents": 1.5},
        {"country_code": "US", "impressions": 6, "unique_users": 6, "spent_cents": 1.5},
    ]


def test_a_batch_whose_every_write_fails_is_retried_whole(api, tenant_key, world, monkeypatch):
    # Given the counter transactions are failing
    feed, campaign, game = world
    biller = Biller()
    for _ in range(5):
        biller.charge(campaign, game, day=_today(), country_code="DE")
    real_apply_chunk = rollups._apply_chunk

    def failing(chunk, report):
        raise rollups.RollupWriteFailed([fact.impression_id for fact in chunk], "simulated outage")

    monkeypatch.setattr(rollups, "_apply_chunk", failing)
    # When the feed delivers the batch, the invocation fails as a whole (Powertools: every record failed)
    with pytest.raises(BatchProcessingError):
        feed.drain()
    assert api.get(f"/api/ads/campaigns/{campaign.id}/analytics/geo", key=tenant_key).json()["countries"] == []
    # Then the records stay pending and the next poll counts them once
    monkeypatch.setattr(rollups, "_apply_chunk", real_apply_chunk)
    assert feed.drain() == 5
    geo = api.get(f"/api/ads/campaigns/{campaign.id}/analytics/geo", key=tenant_key).json()
    assert geo["countries"][0]["impressions"] == 5


def test_the_template_filter_delivers_only_inserted_impressions():
    (function,) = [fn for fn in stream_functions() if fn.logical_id == "ReportsAggregatorFunction"]
    (pattern,) = function.filter_patterns

    def record(event_name: str, pk: str) -> dict:
        return {"eventName": event_name, "dynamodb": {"Keys": {"PK": {"S": pk}, "SK": {"S": "IMP"}}}}

    assert matches_pattern(record("INSERT", "IMP#imp_1"), pattern)
    assert not matches_pattern(record("MODIFY", "IMP#imp_1"), pattern)  # the aggregator's own marker
    assert not matches_pattern(record("INSERT", "AGG#CAMP#camp_1"), pattern)  # the rollups themselves
    assert not matches_pattern(record("REMOVE", "IMP#imp_1"), pattern)


IMPRESSIONS_PER_DAY = 700


def test_rollups_reconcile_exactly_with_the_ledger_after_many_impressions(api, tenant_key, developer_key, dynamodb):
    # Given two advertisers (three campaigns) and two developers (three games at different shares)
    other_advertiser = keys.create_key("tenant-c").api_key
    other_developer = keys.create_key("studio-two").api_key
    feed = CapturingFeed()
    campaigns = [
        served_campaign(api, tenant_key, "tenant-a", cpm_bid_cents=250),
        served_campaign(api, other_advertiser, "tenant-c", cpm_bid_cents=333),
    ]
    second = api.post(
        "/api/ads/campaigns",
        key=tenant_key,
        json={"name": "Second", "budget_cents": 400000, "cpm_bid_cents": 175},
    ).json()
    campaigns.append(_activate_second(api, tenant_key, second, campaigns[0]))
    games = [
        placed_game(api, developer_key, "studio-dev", "game_alpha", 70),
        placed_game(api, developer_key, "studio-dev", "game_beta", 62.5),
        placed_game(api, other_developer, "studio-two", "game_gamma", 55),
    ]
    # When 2,100 impressions are billed across campaigns, creatives, countries, games and three days
    # (benchmarks/aggregator_cost.py reconciles 3,000 the same way)
    biller = Biller()
    for day_offset in (2, 1, 0):
        for index in range(IMPRESSIONS_PER_DAY):
            campaign = campaigns[index % 3]
            biller.charge(
                campaign,
                games[(index // 3) % 3],
                day=_today(day_offset),
                creative_id=campaign.creative_ids[(index // 9) % len(campaign.creative_ids)],
                user_id=f"player_{index % 97}",
                country_code=COUNTRIES[(index // 2) % 4],
                affinity_score=round(0.3 + (index % 7) / 10, 4),
                contributions={campaign.affinity_ids[index % 2]: round(0.05 * (index % 5 + 1), 4)},
            )
    # And the stream is drained through the aggregator (then delivered again, as a retry would)
    assert feed.drain() == 3 * IMPRESSIONS_PER_DAY
    for event in feed.events:
        aggregator.handle_batch(event)
    # Then every campaign's breakdowns sum exactly to its ledger
    keys_by_tenant = {"tenant-a": tenant_key, "tenant-c": other_advertiser}
    for campaign in campaigns:
        mine = [charge for charge in biller.charges if charge.campaign_id == campaign.id]
        spent = millicents_to_cents(int(ledger_item(campaign.id)["spent_millicents"]))
        assert spent == millicents_to_cents(sum(charge.charged_millicents for charge in mine))
        key = keys_by_tenant[campaign.tenant_id]
        base = f"/api/ads/campaigns/{campaign.id}"
        stats = api.get(f"{base}/stats", key=key).json()
        daily = api.get(f"{base}/analytics/daily?days=3", key=key).json()["days"]
        creatives = api.get(f"{base}/analytics/creatives", key=key).json()["creatives"]
        countries = api.get(f"{base}/analytics/geo", key=key).json()["countries"]
        affinities = api.get(f"{base}/analytics/affinities", key=key).json()["affinities"]
        assert Decimal(str(stats["spent_cents"])) == spent
        assert stats["impressions"] == len(mine)
        for rows in (daily, creatives, countries):
            assert sum(Decimal(str(row["spent_cents"])) for row in rows) == spent
            assert sum(row["impressions"] for row in rows) == len(mine)
        assert [day["date"] for day in daily] == [_today(0), _today(1), _today(2)]
        assert {row["country_code"] for row in countries} == {"US", "GB", "DE", "ZZ"}
        assert stats["unique_games"] == 3
        # A player is a user_id within its game (player_1 of game_alpha and of game_gamma are two players)
        distinct_users = len({(charge.game_id, charge.user_id) for charge in mine})
        assert abs(stats["unique_users"] - distinct_users) <= max(1, distinct_users * 0.02)
        influenced = Counter(aff for charge in mine for aff in charge.contributions)
        assert {row["affinity_id"]: row["impressions_influenced"] for row in affinities} == dict(influenced)
        scores = [charge.affinity_score for charge in mine]
        assert stats["avg_affinity_score"] == float(round(sum(Decimal(str(s)) for s in scores) / len(scores), 4))
    # And every game's earnings (billing's EARNINGS item) equal the sum of its shares, by day and by advertiser
    shares = defaultdict(int)
    for charge in biller.charges:
        shares[charge.game_id] += charge.developer_share_millicents
    developer_keys = {"game_alpha": developer_key, "game_beta": developer_key, "game_gamma": other_developer}
    for game_id, share in shares.items():
        report = api.get(f"/api/ads/creator-revenue/{game_id}?days=3", key=developer_keys[game_id]).json()
        assert Decimal(str(report["earned_cents"])) == millicents_to_cents(share)
        assert sum(Decimal(str(day["earned_cents"])) for day in report["daily"]) == millicents_to_cents(share)
        assert sum(Decimal(str(row["earned_cents"])) for row in report["top_advertisers"]) == millicents_to_cents(share)
    total = api.get("/api/ads/creator-revenue", key=developer_key).json()
    assert Decimal(str(total["total_earned_cents"])) == millicents_to_cents(shares["game_alpha"] + shares["game_beta"])
    revenue = api.get("/api/ads/revenue", key=tenant_key).json()
    tenant_charges = [charge for charge in biller.charges if charge.advertiser_tenant_id == "tenant-a"]
    assert Decimal(str(revenue["total_spent_cents"])) == millicents_to_cents(
        sum(charge.charged_millicents for charge in tenant_charges)
    )
    assert revenue["total_impressions"] == len(tenant_charges)


def _activate_second(api, key, created, first):
    from tests.ads_fixtures import add_creative
    from tests.reporting_fixtures import AFFINITIES, ServedCampaign

    creative = add_creative(api, key, created["id"])
    replaced = api.put(f"/api/ads/campaigns/{created['id']}/affinities/bulk", key=key, json={"affinities": AFFINITIES})
    assert api.post(f"/api/ads/campaigns/{created['id']}/activate", key=key).status == 200
    return ServedCampaign(
        id=created["id"],
        advertiser_id=first.advertiser_id,
        tenant_id="tenant-a",
        cpm_bid_cents=175,
        creative_ids=[creative["id"]],
        affinity_ids=[affinity["id"] for affinity in replaced.json()],
        budget_millicents=created["budget_cents"] * 1000,
    )


@pytest.mark.parametrize("distinct", [10_000, 100_000])
def test_unique_user_sketch_stays_within_two_percent(distinct):
    sketch = HyperLogLog()
    for user in range(distinct):
        sketch.add(f"user:player_{user}")
    assert abs(sketch.estimate() - distinct) / distinct <= 0.02
    # Adding everyone again (a redelivery) changes nothing, and the stored form round-trips.
    before = bytes(sketch.registers)
    assert not any(sketch.add(f"user:player_{user}") for user in range(0, distinct, 97))
    assert bytes(HyperLogLog.from_bytes(sketch.to_bytes()).registers) == before


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("game_a", "player_1", None), ("game_b", "player_1", None)),  # one player id in two games
        (("game_a", None, "sess_1"), ("game_b", None, "sess_1")),  # one session id in two games
        (("game", "player_1", None), ("game", None, "player_1")),  # a player and a session of the same id
        (("g", "a:b", None), ("g:a", "b", None)),  # ids holding the characters the key is built with
        (("g", "1:a", None), ("g1:", "a", None)),
    ],
)
def test_unique_users_are_counted_per_game(first, second):
    # Given two different (game, player, session) impressions whose ids are the same in a part or read alike joined
    # When each is keyed for the unique-user sketches, Then the keys differ; the same player again has the same key
    assert unique_user_key(*first) != unique_user_key(*second)
    assert unique_user_key(*first) == unique_user_key(*first)
    assert unique_user_key("game_a", None, None) is None  # recorded without a token: not a user


def test_a_record_that_is_not_an_impression_is_skipped_not_retried(dynamodb):
    event = {
        "Records": [
            {
                "eventID": "1",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {"Keys": {"PK": {"S": "AGG#X"}}, "NewImage": {"PK": {"S": "AGG#X"}}, "SequenceNumber": "7"},
            }
        ]
    }
    assert aggregator.handle_batch(json.loads(json.dumps(event))) == {"batchItemFailures": []}
    assert aws.dynamodb_client().scan(TableName="ImpressionsTable")["Count"] == 0


def test_the_sample_stream_event_runs_through_the_template_handler(dynamodb):
    (function,) = [fn for fn in stream_functions() if fn.logical_id == "ReportsAggregatorFunction"]
    event = json.loads(generate_events.event_path(function).read_text())
    handler = load_handler(function.code_uri, function.handler)
    # Its impression was never billed in this empty world: skipped by the marker, not reported as a failure.
    assert handler(event, LambdaContext(function.logical_id)) == {"batchItemFailures": []}
