"""What each template function does to DynamoDB, as IAM sees it, and what template.yaml grants it.

moto ignores IAM, so a call a function's policy does not allow passes every test and answers 500 in AWS. The
CallRecorder hooks botocore (`provide-client-params.dynamodb`, on boto3's default session, so every client the
code creates is seen) and turns each call into the IAM actions it needs, per table or index:

- GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem: the action of that name on
  the table (a Query or Scan with IndexName: on that index, whose ARN is `<table ARN>/index/<name>`);
- TransactWriteItems: each item's own action on its table (Put -> PutItem, Update -> UpdateItem, Delete ->
  DeleteItem, ConditionCheck -> ConditionCheckItem); TransactGetItems: GetItem per item;
- anything else (PartiQL, table management): the operation's name, which no policy here grants - extend
  `needs_of` when the code starts using one.

Calls are attributed to the function that served them: RecordingApiClient asks the local gateway (the template's
own routing) and labels a request's calls with the function it reports; `recorder.serving(name)` labels calls
made while a non-HTTP function (schedule, stream) runs. Calls outside both (test set-up) are not recorded.
"""

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

import boto3

from arbiter import aws
from arbiter.devstack.gateway import GatewayResponse
from arbiter.devstack.template import load_template, table_environment
from tests.client import ApiClient

TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SUB_TABLE_ARN = re.compile(r"^\$\{(?P<table>\w+)\.Arn\}(?:/index/(?P<index>[^/]+))?$")


class Access(NamedTuple):
    """One IAM action on one resource: a table (index None) or one of its indexes (by name, or a pattern in a
    grant). Tables by template logical id."""

    action: str  # e.g. "dynamodb:GetItem" (a pattern such as "dynamodb:*" in a grant)
    table: str | None
    index: str | None = None

    def __str__(self) -> str:
        resource = f"{self.table}/index/{self.index}" if self.index else str(self.table)
        return f"{self.action} on {resource}"

    def covers(self, needed: "Access") -> bool:
        """Whether this grant allows `needed` (IAM: a table ARN does not cover its indexes, nor the reverse)."""
        if self.table != needed.table or not fnmatchcase(needed.action.lower(), self.action.lower()):
            return False
        if self.index is None or needed.index is None:
            return self.index is None and needed.index is None
        return fnmatchcase(needed.index, self.index)


def needs_of(operation: str, params: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(action, physical table name, index) for each permission one DynamoDB API call needs."""
    if operation == "TransactWriteItems":
        return [
            (TRANSACT_WRITE_ACTIONS[kind], request["TableName"], None)
            for item in params["TransactItems"]
            for kind, request in item.items()
        ]
    if operation == "TransactGetItems":
        return [("GetItem", item["Get"]["TableName"], None) for item in params["TransactItems"]]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(operation, table, None) for table in params["RequestItems"]]
    return [(operation, params.get("TableName"), params.get("IndexName"))]


_collecting: ContextVar[list[tuple[str, str | None, str | None]] | None] = ContextVar("iam_collecting", default=None)


class CallRecorder:
    """function logical id -> the accesses it needed; `served` also lists the functions that made no call."""

    HOOK_ID = "tests.iam_recorder"

    def __init__(self) -> None:
        self.needed: dict[str, set[Access]] = defaultdict(set)
        self.served: set[str] = set()
        self._logical = {os.environ.get(var, logical): logical for var, logical in table_environment().items()}

    def _hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        bucket = _collecting.get()
        if bucket is not None:
            bucket.extend(needs_of(model.name, params))

    @contextmanager
    def installed(self) -> Iterator["CallRecorder"]:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        events = boto3.DEFAULT_SESSION.events
        events.register("provide-client-params.dynamodb", self._hook, unique_id=self.HOOK_ID)
        aws.reset_clients()  # a client copies the session's handlers when it is created
        try:
            yield self
        finally:
            events.unregister("provide-client-params.dynamodb", unique_id=self.HOOK_ID)
            aws.reset_clients()

    @contextmanager
    def collecting(self) -> Iterator[list[tuple[str, str | None, str | None]]]:
        bucket: list[tuple[str, str | None, str | None]] = []
        token = _collecting.set(bucket)
        try:
            yield bucket
        finally:
            _collecting.reset(token)

    def record(self, function: str, calls: list[tuple[str, str | None, str | None]]) -> None:
        self.served.add(function)
        for action, table, index in calls:
            self.needed[function].add(Access(f"dynamodb:{action}", self._logical.get(table, table), index))

    @contextmanager
    def serving(self, function: str) -> Iterator[None]:
        """Attribute the calls made inside to `function` (a scheduled or stream function run by the test)."""
        with self.collecting() as calls:
            yield
        self.record(function, calls)


class RecordingApiClient(ApiClient):
    """The tests' client; each request's DynamoDB calls go to the function the gateway routed it to."""

    def __init__(self, recorder: CallRecorder, before_each: Callable[[], None] = lambda: None):
        self.recorder = recorder
        self.before_each = before_each

    def request(self, method: str, path: str, **kwargs: Any) -> GatewayResponse:
        self.before_each()
        with self.recorder.collecting() as calls:
            response = super().request(method, path, **kwargs)
        assert response.function, f"{method} {path} reached no function"
        self.recorder.record(response.function, calls)
        return response


# ---- the grants of template.yaml --------------------------------------------------------------------------------


def template_functions() -> dict[str, dict[str, Any]]:
    resources = load_template()["Resources"]
    return {name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource(value: Any) -> tuple[str, str | None] | None:
    """(table, index pattern or None) of a DynamoDB table or index ARN; None for a stream ARN."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        table, attribute = value["Fn::GetAtt"]
        if attribute == "StreamArn":
            return None
        if attribute == "Arn":
            return table, None
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        match = _SUB_TABLE_ARN.match(value["Fn::Sub"])
        if match:
            return match["table"], match["index"]
    raise ValueError(f"tests/iam_recorder.py cannot read this policy resource yet: {value!r}")


def granted(function: str) -> set[Access]:
    """The DynamoDB actions the function's inline policy statements allow, per table or index."""
    grants: set[Access] = set()
    for policy in template_functions()[function].get("Policies") or []:
        if not isinstance(policy, dict) or set(policy) != {"Statement"}:
            raise ValueError(f"{function}: only inline Statement policies are understood here, got {policy!r}")
        for statement in policy["Statement"]:
            if statement["Effect"] != "Allow":
                raise ValueError(f"{function}: a Deny statement would need real IAM evaluation here")
            actions = [action for action in _as_list(statement["Action"]) if action.startswith("dynamodb:")]
            if not actions:
                continue  # another service's grant (the token secret): not what this recorder compares
            for resource in map(_resource, _as_list(statement["Resource"])):
                if resource is not None:
                    grants |= {Access(action, *resource) for action in actions}
    return grants


def missing_grants(needed: set[Access], grants: set[Access]) -> set[Access]:
    return {access for access in needed if not any(grant.covers(access) for grant in grants)}


def unused_grants(needed: set[Access], grants: set[Access]) -> set[Access]:
    return {grant for grant in grants if not any(grant.covers(access) for access in needed)}
