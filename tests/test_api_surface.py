"""One API surface: template.yaml's routes == the routes the functions' code serves == the OpenAPI document.

Also: the committed docs/openapi.json is current, and every function's handler module and sample event exist.
"""

import json
import re

from arbiter.api.catalog import all_routers
from arbiter.api.openapi import openapi_json
from arbiter.devstack.functions import load_handler
from arbiter.devstack.template import PROJECT_ROOT, api_functions, load_template
from arbiter.http import create_resolver
from scripts import demo_world, generate_events

OPENAPI_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _template_path(powertools_rule: str) -> str:
    """Powertools writes path parameters as <name>, API Gateway and OpenAPI as {name}."""
    return re.sub(r"<(\w+)>", r"{\1}", powertools_rule)


def _served_routes(app) -> set[tuple[str, str]]:
    return {(route.method.upper(), _template_path(route.path)) for route in app._static_routes + app._dynamic_routes}


def _template_functions() -> dict[str, dict]:
    resources = load_template()["Resources"]
    return {name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}


def test_template_routes_are_unique():
    routes = [(function.method, function.path) for function in api_functions()]
    assert len(routes) == len(set(routes)), "two functions declare the same route"


def test_each_function_serves_its_own_template_route():
    # The gateway sends a function only its own route; the app that function loads must serve it.
    not_served = [
        f"{function.logical_id}: {function.method} {function.path}"
        for function in api_functions()
        if (function.method, function.path) not in _served_routes(load_handler(function.code_uri, function.handler).app)
    ]
    assert not not_served, not_served


def test_template_routes_equal_the_routes_the_code_serves():
    template = {(function.method, function.path) for function in api_functions()}
    # Every app any function loads (each includes its area's router) ...
    by_function_apps: set[tuple[str, str]] = set()
    for function in api_functions():
        by_function_apps |= _served_routes(load_handler(function.code_uri, function.handler).app)
    # ... and every router of the catalog, which the OpenAPI document is built from.
    catalog = _served_routes(create_resolver(*all_routers()))
    assert by_function_apps - template == set(), "routes served by code but absent from template.yaml"
    assert template - by_function_apps == set(), "template.yaml routes no function's code serves"
    assert catalog == template, "arbiter.api.catalog.all_routers() differs from template.yaml"


def test_openapi_document_lists_exactly_the_template_routes():
    document = json.loads(openapi_json())
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in OPENAPI_METHODS
    }
    template = {(function.method, function.path) for function in api_functions()}
    assert documented == template


def test_openapi_documents_the_seed_success_status_of_each_route():
    # 201 for creates, 204 for deletes, 200 otherwise; the same rule tests/test_events.py checks live.
    document = json.loads(openapi_json())
    wrong = {}
    for function in api_functions():
        operation = document["paths"][function.path][function.method.lower()]
        documented = sorted(code for code in operation.get("responses", {}) if code.startswith("2"))
        if documented != [str(demo_world.expected_status(function))]:
            wrong[f"{function.method} {function.path}"] = documented
    assert not wrong, f"2xx responses differ from the seed's: {wrong}"


def test_request_fields_are_documented_with_json_schema_keywords_only():
    # pydantic describes a Decimal as "number or string" and leaves its bounds as ge/le/decimal_places, which no
    # schema tool reads; the API refuses strings for them (core.inputs.decimal_number)
    document = json.loads(openapi_json())
    # (and no multipleOf: validators test it in binary floating point, so 19.99 "is not a multiple of 0.01")
    not_json_schema = {"ge", "le", "gt", "lt", "decimal_places", "max_digits", "multipleOf"}

    def walk(node, where):
        if isinstance(node, dict):
            assert not not_json_schema & set(node), where
            options = node.get("anyOf") or []
            decimal_as_pydantic_says = (
                len(options) == 2 and options[0].get("type") == "number" and options[1] == {"type": "string"}
            )
            assert not decimal_as_pydantic_says, where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(document["components"]["schemas"], "schemas")


def test_committed_openapi_json_is_current():
    committed = PROJECT_ROOT / "docs" / "openapi.json"
    assert committed.is_file(), "docs/openapi.json is missing: run make openapi"
    assert committed.read_text() == openapi_json(), "docs/openapi.json is stale: run make openapi"


def test_every_function_handler_module_exists():
    missing = []
    for name, props in _template_functions().items():
        module, _, attribute = props["Handler"].rpartition(".")
        source = PROJECT_ROOT / props["CodeUri"] / f"{module.replace('.', '/')}.py"
        if not source.is_file() or not attribute:
            missing.append(f"{name}: {source.relative_to(PROJECT_ROOT)}")
    assert not missing, missing


def test_every_function_has_a_sample_event():
    missing = [
        name
        for name in _template_functions()
        if not (generate_events.EVENTS_DIR / f"{name.removesuffix('Function')}.json").is_file()
    ]
    assert not missing, f"no events/<Name>.json for {missing}: run make events"
