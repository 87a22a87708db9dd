"""The sample events in events/ (one per function): up to date, and each answers with its documented status.

Every event is run through its own function's handler (loaded from the template's CodeUri/Handler, as
Lambda does) against a demo world seeded through the public API (scripts/demo_world.py).
"""

import json

import pytest

from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.template import api_functions, load_template
from scripts import demo_world, generate_events

FUNCTIONS = {function.logical_id: function for function in api_functions()}


def test_every_function_of_the_template_has_an_event_file():
    resources = load_template()["Resources"]
    functions = [name for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"]
    events = generate_events.EVENTS_DIR
    missing = [name for name in functions if not (events / f"{name.removesuffix('Function')}.json").is_file()]
    assert not missing, f"no events/ file for {missing}; run make events"


def test_event_files_match_the_generator():
    stale = [
        str(path.relative_to(generate_events.PROJECT_ROOT))
        for path, text in generate_events.expected_files().items()
        if not path.is_file() or path.read_text() != text
    ]
    assert not stale, f"stale events {stale}; run make events"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_event_answers_with_the_documented_status(dynamodb, logical_id):
    # Given the demo world this function's event expects
    function = FUNCTIONS[logical_id]
    demo_world.seed(function)
    demo_world.fresh_instance()
    event = json.loads(generate_events.event_path(function).read_text())
    assert event["routeKey"] == f"{function.method} {function.path}"
    # When API Gateway would hand the event to the function's own handler
    handler = load_handler(function.code_uri, function.handler)
    response = handler(event, LambdaContext(logical_id))
    # Then it answers with the seed's success status
    assert response["statusCode"] == demo_world.expected_status(function), response.get("body")
