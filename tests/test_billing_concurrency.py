"""Concurrent impressions against a real HTTP DynamoDB endpoint (moto server): the conditions inside the billing
transaction, not the reads before it, keep spend within the daily cap and the budget, and every ledger
reconciles to the millicent."""

import os
import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
from werkzeug.serving import make_server

from arbiter import aws, clock
from arbiter.ads.billing import logic
from arbiter.ads.billing.models import RecordImpressionInput
from arbiter.auth import keys
from arbiter.devstack.tables import create_tables
from arbiter.errors import ConflictError
from arbiter.settings import get_settings
from tests.ads_fixtures import ACME, ACME_SHIELD_HOOK, ledger_item
from tests.client import ApiClient

THREADS = 8
REQUESTS_PER_THREAD_PER_DAY = 8  # 8 x 8 x 2 days = 128 requests, 20 billable
CPM_BID_CENTS = 250  # 250 millicents per impression
BUDGET_CENTS = 5  # 20 impressions' worth
DAILY_CAP_CENTS = 3  # 12 impressions a day
GAME_ID = "race_game"
DAY_ONE = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OneRequestAtATimeMotoServer(ThreadedMotoServer):
    """Moto's in-memory backend is not thread-safe (a cancelled transaction restores a table snapshot over other
    requests' writes), so the server handles one request at a time, as DynamoDB applies each transaction
    atomically. The client threads still race in the windows between their reads and their writes."""

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, False, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture
def moto_server():
    saved_env = dict(os.environ)
    port = _free_port()
    server = OneRequestAtATimeMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        aws.reset_clients()
        keys.forget_verified_keys()
        create_tables(aws.dynamodb_client())
        aws.reset_clients()
        yield
    finally:
        server.stop()
        clock.set_clock(None)
        os.environ.clear()
        os.environ.update(saved_env)
        aws.reset_clients()
        keys.forget_verified_keys()


class SettableClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def _setup(api: ApiClient) -> tuple[dict, object]:
    advertiser_key = keys.create_key("race-advertiser").api_key
    developer_key = keys.create_key("race-developer").api_key
    assert api.post("/api/ads/register", key=advertiser_key, json=ACME).status == 201
    assert api.post("/api/ads/deposit", key=advertiser_key, json={"amount_cents": 1000}).status == 200
    campaign = api.post(
        "/api/ads/campaigns",
        key=advertiser_key,
        json={
            "name": "Race",
            "budget_cents": BUDGET_CENTS,
            "cpm_bid_cents": CPM_BID_CENTS,
            "daily_cap_cents": DAILY_CAP_CENTS,
        },
    ).json()
    creative = api.post(f"/api/ads/campaigns/{campaign['id']}/creatives", key=advertiser_key, json=ACME_SHIELD_HOOK)
    assert creative.status == 201, creative.body
    assert api.post(f"/api/ads/campaigns/{campaign['id']}/activate", key=advertiser_key).status == 200
    placement = {"creator_id": "dev_race", "placement_types": ["narrative_hook"], "revenue_share_pct": 62.5}
    assert api.post(f"/api/ads/placements/{GAME_ID}", key=developer_key, json=placement).status == 201
    request = {"campaign_id": campaign["id"], "creative_id": creative.json()["id"], "game_id": GAME_ID}
    return request, keys.verify_key(developer_key)


def _hammer(principal, request: RecordImpressionInput, day: str) -> tuple[Counter, list[tuple[str, str]]]:
    """THREADS threads record impressions at once; every other request retries the previous one's key."""
    outcomes: Counter = Counter()
    recorded: list[tuple[str, str]] = []  # (idempotency key, impression id)
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> None:
        start.wait()
        for index in range(REQUESTS_PER_THREAD_PER_DAY):
            idempotency_key = f"{day}-t{thread}-{index // 2}"  # sent twice: the second is a retry
            try:
                output = logic.record_impression(principal, request, idempotency_key)
            except ConflictError as refusal:
                with lock:
                    outcomes[refusal.detail] += 1
                continue
            with lock:
                outcomes["recorded"] += 1
                recorded.append((idempotency_key, output.impression_id))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, recorded


def test_concurrent_impressions_never_overspend_and_reconcile_exactly(moto_server):
    settable = SettableClock(DAY_ONE)
    clock.set_clock(settable)
    request_body, principal = _setup(ApiClient())
    request = RecordImpressionInput.model_validate(request_body)
    campaign_id = request.campaign_id
    per_impression = CPM_BID_CENTS  # millicents

    # Day one: the daily cap (12 impressions) binds
    day_one, recorded_one = _hammer(principal, request, "d1")
    ledger = ledger_item(campaign_id)
    assert int(ledger["day_spent_millicents"]) <= DAILY_CAP_CENTS * 1000
    assert int(ledger["spent_millicents"]) == 12 * per_impression
    assert day_one["Campaign daily cap reached"] > 0

    # Day two: the rest of the budget (8 impressions) binds
    settable.moment = DAY_ONE + timedelta(days=1)
    day_two, recorded_two = _hammer(principal, request, "d2")
    ledger = ledger_item(campaign_id)
    spent = int(ledger["spent_millicents"])
    assert spent == BUDGET_CENTS * 1000  # exactly the budget, never more
    assert int(ledger["day_spent_millicents"]) == 8 * per_impression
    assert day_two["Campaign budget exhausted"] + day_two["Campaign is not active"] > 0

    # Every impression is stored once; a retried key maps to one impression id
    table = aws.dynamodb_resource()
    stored = table.Table(get_settings().impressions_table).scan()["Items"]
    stored_ids = [item["impression_id"] for item in stored]
    assert len(stored_ids) == len(set(stored_ids)) == 20
    by_key: dict[str, set[str]] = {}
    for idempotency_key, impression_id in recorded_one + recorded_two:
        by_key.setdefault(idempotency_key, set()).add(impression_id)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert {next(iter(ids)) for ids in by_key.values()} == set(stored_ids)
    assert sorted(item["idempotency_source"] for item in stored) == sorted(f"key:{key}" for key in by_key)

    # And the ledgers reconcile to the millicent
    charges = sum(int(item["charged_millicents"]) for item in stored)
    shares = sum(int(item["developer_share_millicents"]) for item in stored)
    takes = sum(int(item["platform_take_millicents"]) for item in stored)
    campaigns = table.Table(get_settings().campaigns_table)
    advertiser = campaigns.get_item(Key={"PK": "TENANT#race-advertiser", "SK": "ADVERTISER"})["Item"]
    earnings = campaigns.get_item(Key={"PK": f"GAME#{GAME_ID}", "SK": "EARNINGS"})["Item"]
    assert charges == spent == 1000 * 1000 - int(advertiser["balance_millicents"]) == shares + takes
    assert int(advertiser["balance_millicents"]) >= 0
    assert int(earnings["earned_millicents"]) == shares == 20 * (250 * 6250 // 10000)
    assert int(earnings["platform_take_millicents"]) == takes
    assert int(earnings["impressions"]) == 20
    assert ledger["creative_impressions"][request.creative_id] == 20
    campaign = campaigns.get_item(Key={"PK": f"CAMPAIGN#{campaign_id}", "SK": "CAMPAIGN"})["Item"]
    assert campaign["status"] == "exhausted" and "GSI2PK" not in campaign
