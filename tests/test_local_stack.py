"""The Docker-free local stack, started for real in-process (moto server + HTTP server on free ports).

It does not use the `dynamodb` fixture: the stack runs its own moto server, and restores os.environ and the
boto3 clients when it stops so later tests see the moto `mock_aws` set-up they expect.
"""

import json
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from arbiter import aws
from arbiter.api.openapi import openapi_json
from arbiter.cli import main
from arbiter.devstack.functions import load_handler
from arbiter.devstack.scheduler import Scheduler, parse_schedule
from arbiter.devstack.server import LocalStack
from arbiter.devstack.template import ScheduledFunction

# openapi_json is imported at collection, not inside a capsys test: Powertools' logger binds to the
# sys.stdout current at its first import, and a capsys stream is closed after its test.
ACME = {"company_name": "Acme Corp", "contact_email": "ads@acme.com"}
PLACEMENT = {"creator_id": "dev_user_123", "placement_types": ["narrative_hook"], "revenue_share_pct": 70}
STACK_VARIABLES = ("DYNAMODB_ENDPOINT_URL", "CAMPAIGNS_TABLE", "IMPRESSIONS_TABLE", "INTERACTIONS_TABLE")


class HttpResult:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def http(method: str, url: str, *, key: str | None = None, payload: dict | None = None) -> HttpResult:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return HttpResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return HttpResult(error.code, error.headers, error.read())


def test_stop_restores_the_environment_it_changed():
    # Runs before the module's shared stack starts: moto's backends are process-wide, one stack at a time.
    before = {name: os.environ.get(name) for name in STACK_VARIABLES}
    with LocalStack(port=0, dynamodb_port=0, quiet=True) as stack:
        assert os.environ["DYNAMODB_ENDPOINT_URL"] == stack.dynamodb_endpoint
        assert os.environ["CAMPAIGNS_TABLE"] == stack.tables["CAMPAIGNS_TABLE"]
    assert {name: os.environ.get(name) for name in STACK_VARIABLES} == before


@pytest.fixture(scope="module")
def stack():
    saved = dict(os.environ)
    local = LocalStack(port=0, dynamodb_port=0, quiet=True)
    local.start()
    yield local
    local.stop()
    os.environ.clear()
    os.environ.update(saved)
    aws.reset_clients()


@pytest.fixture(scope="module")
def demo_key(stack) -> str:
    # The key the banner prints is the key that works.
    printed = re.search(r"Demo key\s+(ak_\S+)", stack.banner())
    assert printed, stack.banner()
    return printed.group(1)


def test_banner_names_the_api_swagger_ui_and_dynamodb_endpoint(stack):
    banner = stack.banner()
    assert stack.api_url.startswith("http://127.0.0.1:")
    assert f"{stack.api_url}/docs" in banner
    assert f"export DYNAMODB_ENDPOINT_URL={stack.dynamodb_endpoint}" in banner
    assert "lost when it stops" in banner


def test_health_needs_no_key(stack):
    response = http("GET", f"{stack.api_url}/health")
    assert response.status == 200
    assert response.json()["status"] == "ok"


def test_openapi_document_is_served(stack):
    response = http("GET", f"{stack.api_url}/openapi.json")
    assert response.status == 200
    assert response.body.decode() == openapi_json()
    assert "/api/ads/register" in response.json()["paths"]


def test_swagger_ui_is_served(stack):
    response = http("GET", f"{stack.api_url}/docs")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"swagger-ui" in response.body
    # Its scripts and styles come from one pinned CDN version, each with an integrity hash the browser checks
    page = response.body.decode()
    assert page.count(" integrity='sha384-") == 2 and page.count(" crossorigin='anonymous'") == 2
    assert "swagger-ui-dist@5.35.0/swagger-ui-bundle.js' integrity=" in page
    assert "swagger-ui-dist@5.35.0/swagger-ui.css' integrity=" in page


def test_register_with_the_printed_demo_key_is_201(stack, demo_key):
    response = http("POST", f"{stack.api_url}/api/ads/register", key=demo_key, payload=ACME)
    assert response.status == 201, response.body
    assert response.json()["id"].startswith("adv_")
    profile = http("GET", f"{stack.api_url}/api/ads/profile", key=demo_key)
    assert profile.json()["company_name"] == "Acme Corp"


def test_missing_key_is_401_with_detail(stack):
    response = http("POST", f"{stack.api_url}/api/ads/register", payload=ACME)
    assert response.status == 401
    assert response.json()["detail"]


def test_unknown_route_is_404_json_with_detail(stack):
    response = http("GET", f"{stack.api_url}/api/ads/nothing-here?x=1")
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/json"
    # answered by the $default route's function, as in AWS (not API Gateway's own {"message": "Not Found"})
    assert response.json() == {"detail": "No route for GET /api/ads/nothing-here"}


@pytest.mark.parametrize("method", ["TRACE", "QUERY"])
def test_any_other_method_is_404_json_like_api_gateway(stack, method):
    response = http(method, f"{stack.api_url}/api/ads/campaigns")
    assert response.status == 404
    assert response.json() == {"detail": f"No route for {method} /api/ads/campaigns"}


def test_204_route_returns_no_body(stack, demo_key):
    url = f"{stack.api_url}/api/ads/placements/local_stack_game"
    assert http("POST", url, key=demo_key, payload=PLACEMENT).status == 201
    response = http("DELETE", url, key=demo_key)
    assert response.status == 204
    assert response.body == b""
    assert response.headers.get("Content-Length") is None


def test_cli_keys_use_the_stack_the_environment_points_at(stack, capsys):
    # The stack exported DYNAMODB_ENDPOINT_URL; the CLI finds the demo key there, and a key it creates works.
    assert main(["keys", "list", "--json"]) == 0
    assert "demo" in {record["tenant_id"] for record in json.loads(capsys.readouterr().out)}
    assert main(["keys", "create", "--tenant", "cli-made", "--scope", "ads:advertiser", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    response = http("POST", f"{stack.api_url}/api/ads/register", key=created["api_key"], payload=ACME)
    assert response.status == 201, response.body


# -- schedules -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "aws_seconds", "local_seconds"),
    [
        ("rate(5 minutes)", 300, 30),
        ("rate(1 minute)", 60, 6),
        ("rate(1 hour)", 3600, 360),
        ("rate(30 seconds)", 30, 3),
        ("rate(2 seconds)", 2, 1),  # never faster than once a second
    ],
)
def test_rate_expressions_run_faster_locally(expression, aws_seconds, local_seconds):
    schedule = parse_schedule(expression, speedup=10)
    assert (schedule.seconds, schedule.local_seconds, schedule.is_cron) == (aws_seconds, local_seconds, False)


def test_cron_runs_at_a_fixed_local_interval():
    schedule = parse_schedule("cron(0 12 * * ? *)", speedup=10)
    assert schedule.is_cron
    assert schedule.local_seconds == 6


@pytest.mark.parametrize("expression", ["rate(0 minutes)", "rate(five minutes)", "every 5 minutes", "rate(1 week)"])
def test_unsupported_schedules_are_refused(expression):
    with pytest.raises(ValueError):
        parse_schedule(expression)


@pytest.fixture
def recording_function(tmp_path: Path) -> ScheduledFunction:
    (tmp_path / "app.py").write_text(
        "received = []\n\ndef lambda_handler(event, context):\n"
        "    received.append((event, context.function_name))\n    return {'ok': True}\n"
    )
    return ScheduledFunction("TickFunction", tmp_path, "app.lambda_handler", "rate(1 minute)")


def test_scheduler_invokes_the_handler_with_an_eventbridge_scheduled_event(recording_function):
    # Given a scheduled function at rate(1 minute) and a 60x local speed-up (one tick a second)
    scheduler = Scheduler([recording_function], speedup=60, region="eu-west-1")
    received = load_handler(recording_function.code_uri, recording_function.handler).__globals__["received"]
    # When the scheduler runs for a moment
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    # Then the handler got EventBridge's Scheduled Event, under its own function name
    assert received, "the scheduled function never ran"
    event, function_name = received[0]
    assert function_name == "TickFunction"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["region"] == "eu-west-1"
    assert event["resources"] == ["arn:aws:events:eu-west-1:000000000000:rule/TickFunction"]
    assert event["time"].endswith("Z")
    assert event["detail"] == {}
