"""Reads template.yaml so the local stack and the tests use the template's own tables, routes and schedules."""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[4]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags (!Ref X -> {"Ref": "X"})."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class ApiFunction:
    logical_id: str
    method: str
    path: str
    code_uri: Path
    handler: str  # "module.attribute"

    @property
    def path_regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", self.path)
        return re.compile(f"^{pattern}$")


@dataclass(frozen=True)
class ScheduledFunction:
    logical_id: str
    code_uri: Path
    handler: str
    schedule: str  # "rate(5 minutes)" or "cron(...)"


@cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def _functions() -> list[tuple[str, dict[str, Any]]]:
    resources = load_template()["Resources"]
    return [(name, res["Properties"]) for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"]


DEFAULT_ROUTE = "$default"


def _http_api_routes() -> list[ApiFunction]:
    found = []
    for name, props in _functions():
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                route = event.get("Properties") or {}
                found.append(
                    ApiFunction(
                        logical_id=name,
                        # An HttpApi event without Path/Method is the API's $default route (any method, any path).
                        method=str(route.get("Method", "ANY")).upper(),
                        path=route.get("Path", DEFAULT_ROUTE),
                        code_uri=PROJECT_ROOT / props["CodeUri"],
                        handler=props["Handler"],
                    )
                )
    return found


def api_functions() -> list[ApiFunction]:
    """The functions behind the API's explicit routes (the $default route is default_route_function())."""
    return [function for function in _http_api_routes() if function.path != DEFAULT_ROUTE]


def default_route_function() -> ApiFunction | None:
    """The function behind the $default route: what API Gateway calls when no other route matches."""
    return next((function for function in _http_api_routes() if function.path == DEFAULT_ROUTE), None)


def scheduled_functions() -> list[ScheduledFunction]:
    found = []
    for name, props in _functions():
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "Schedule":
                found.append(
                    ScheduledFunction(
                        logical_id=name,
                        code_uri=PROJECT_ROOT / props["CodeUri"],
                        handler=props["Handler"],
                        schedule=event["Properties"]["Schedule"],
                    )
                )
    return found


def table_definitions() -> dict[str, dict[str, Any]]:
    """Logical id -> create_table kwargs (without TableName) from the template's DynamoDB resources."""
    tables = {}
    for name, resource in load_template()["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        kwargs: dict[str, Any] = {
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        tables[name] = kwargs
    return tables


def ttl_attributes() -> dict[str, str]:
    """Logical table id -> TTL attribute name."""
    found = {}
    for name, resource in load_template()["Resources"].items():
        spec = resource.get("Properties", {}).get("TimeToLiveSpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and spec and spec.get("Enabled"):
            found[name] = spec["AttributeName"]
    return found


def table_environment() -> dict[str, str]:
    """Environment variable -> logical table id, from Globals (e.g. CAMPAIGNS_TABLE -> CampaignsTable)."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    tables = table_definitions()
    return {
        var: value["Ref"] for var, value in variables.items() if isinstance(value, dict) and value.get("Ref") in tables
    }


def static_environment() -> dict[str, str]:
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return {var: value for var, value in variables.items() if isinstance(value, str)}
