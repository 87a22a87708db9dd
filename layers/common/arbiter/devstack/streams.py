"""Runs the template's DynamoDB-stream functions locally, as Lambda's event source mapping would.

For every `DynamoDB` event of template.yaml (today: ReportsAggregatorFunction on the impressions table), a
StreamFeed reads the embedded DynamoDB's stream (moto implements DynamoDB Streams: DescribeStream,
GetShardIterator, GetRecords), keeps the records the event's FilterCriteria match, and invokes the function's own
handler (loaded from CodeUri/Handler) with Lambda's DynamoDB-stream event, at most BatchSize records at a time.
Partial batch failures are honoured like Lambda does: the batch is retried from the earliest failed record.

`StreamFeed.poll_once()` drains the stream synchronously (tests); `StreamPoller` polls every
POLL_INTERVAL_SECONDS in a daemon thread (the local stack), so figures appear within about a second.
"""

import json
import logging
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.template import PROJECT_ROOT, load_template
from arbiter.devstack.ticker import Ticker

log = logging.getLogger("arbiter.devstack")

POLL_INTERVAL_SECONDS = 0.5
GET_RECORDS_LIMIT = 1000


@dataclass(frozen=True)
class StreamFunction:
    logical_id: str
    code_uri: Path
    handler: str
    table_logical_id: str
    batch_size: int
    starting_position: str
    filter_patterns: tuple[dict[str, Any], ...]


def stream_functions() -> list[StreamFunction]:
    found = []
    resources = load_template()["Resources"]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        for event in (props.get("Events") or {}).values():
            if event["Type"] != "DynamoDB":
                continue
            source = event["Properties"]
            table, attribute = source["Stream"]["Fn::GetAtt"]
            if attribute != "StreamArn":
                raise ValueError(f"{name}: expected !GetAtt <Table>.StreamArn, got {attribute}")
            filters = (source.get("FilterCriteria") or {}).get("Filters") or []
            found.append(
                StreamFunction(
                    logical_id=name,
                    code_uri=PROJECT_ROOT / props["CodeUri"],
                    handler=props["Handler"],
                    table_logical_id=table,
                    batch_size=int(source.get("BatchSize", 100)),
                    starting_position=source.get("StartingPosition", "LATEST"),
                    filter_patterns=tuple(json.loads(item["Pattern"]) for item in filters),
                )
            )
    return found


# ---- Lambda event filtering (the subset of the pattern syntax the template uses) --------------------------------


def _value_matches(value: Any, rule: Any) -> bool:
    if isinstance(rule, dict):
        if "prefix" in rule:
            return isinstance(value, str) and value.startswith(rule["prefix"])
        if "exists" in rule:
            return (value is not None) == bool(rule["exists"])
        if "anything-but" in rule:
            excluded = rule["anything-but"]
            return value not in (excluded if isinstance(excluded, list) else [excluded])
        raise ValueError(f"unsupported filter rule {rule!r}")
    return value == rule


def matches_pattern(record: Any, pattern: dict[str, Any]) -> bool:
    """Lambda's filter semantics: every key of the pattern must match; a list lists the accepted values."""
    for name, rule in pattern.items():
        value = record.get(name) if isinstance(record, dict) else None
        if isinstance(rule, dict):
            if not matches_pattern(value if isinstance(value, dict) else {}, rule):
                return False
        elif isinstance(rule, list):
            if not any(_value_matches(value, option) for option in rule):
                return False
        else:
            raise ValueError(f"unsupported filter pattern {pattern!r}")
    return True


def passes_filters(record: dict[str, Any], patterns: tuple[dict[str, Any], ...]) -> bool:
    return not patterns or any(matches_pattern(record, pattern) for pattern in patterns)


def lambda_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda's event source mapping delivers it."""
    return {
        "eventID": raw.get("eventID"),
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": raw["dynamodb"],
        "eventSourceARN": stream_arn,
    }


def _datetimes_as_epoch(record: dict[str, Any]) -> dict[str, Any]:
    # boto3 parses ApproximateCreationDateTime into a datetime; Lambda sends epoch seconds.
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "dynamodb": dynamodb}


@dataclass
class StreamFeed:
    """One stream function fed from its table's stream."""

    function: StreamFunction
    table_name: str
    invocation_lock: AbstractContextManager = field(default_factory=nullcontext)
    on_result: Callable[[dict, dict], None] | None = None
    _iterators: dict[str, str | None] = field(default_factory=dict)
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _last_sequence: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.region = region
        endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL") or None
        # Account-based stream endpoints (<account>.streams-ddb...) are unknown to moto's in-process mock.
        config = Config(account_id_endpoint_mode="disabled")
        self.dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint)
        self.streams = boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint, config=config)
        self.stream_arn = self.dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        self.handler = load_handler(self.function.code_uri, self.function.handler)
        self._open_shards()

    def _open_shards(self) -> None:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn,
                    ShardId=shard["ShardId"],
                    ShardIteratorType=self.function.starting_position,
                )["ShardIterator"]

    def _iterator(self, shard_id: str) -> str | None:
        # After the first record, a fresh iterator from the last sequence number each time: moto replaces a table
        # object (and its stream) when it rolls a transaction back, which strands older iterators.
        last = self._last_sequence.get(shard_id)
        if last is None:
            return self._iterators.get(shard_id)
        return self.streams.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=last,
        )["ShardIterator"]

    def _read(self) -> None:
        self._open_shards()
        for shard_id in list(self._iterators):
            iterator = self._iterator(shard_id)
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
                if not page["Records"]:
                    self._iterators[shard_id] = page.get("NextShardIterator")
                    break
                records = [
                    lambda_record(_datetimes_as_epoch(raw), self.stream_arn, self.region) for raw in page["Records"]
                ]
                self._last_sequence[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                self._pending += [r for r in records if passes_filters(r, self.function.filter_patterns)]
                iterator = page.get("NextShardIterator")

    def poll_once(self) -> int:
        """Read what the stream has and invoke the handler until nothing is pending (or a batch fails).
        Returns how many records were delivered successfully. Runs under the invocation lock: no request writes
        while the stream is read, as in one Lambda instance."""
        with self.invocation_lock:
            self._read()
            delivered = 0
            while self._pending:
                batch = self._pending[: self.function.batch_size]
                result = self.handler({"Records": batch}, LambdaContext(self.function.logical_id)) or {}
                if self.on_result:
                    self.on_result({"Records": batch}, result)
                failed = {item["itemIdentifier"] for item in result.get("batchItemFailures") or []}
                if failed:
                    # Like Lambda: everything from the earliest failed record is delivered again later.
                    sequence = [record["dynamodb"]["SequenceNumber"] for record in batch]
                    first = min((sequence.index(number) for number in failed if number in sequence), default=0)
                    delivered += first
                    self._pending = self._pending[first:]
                    log.warning("%s: %d record(s) failed; retrying them", self.function.logical_id, len(failed))
                    return delivered
                delivered += len(batch)
                self._pending = self._pending[len(batch) :]
            return delivered


class StreamPoller:
    """A daemon thread per stream function of the template; stop() ends them promptly."""

    def __init__(
        self,
        table_names: dict[str, str],
        *,
        invocation_lock: AbstractContextManager | None = None,
        interval: float = POLL_INTERVAL_SECONDS,
    ):
        self.feeds = [
            StreamFeed(fn, table_names.get(fn.table_logical_id, fn.table_logical_id), invocation_lock or nullcontext())
            for fn in stream_functions()
        ]
        self.interval = interval
        self._ticker = Ticker()

    def start(self) -> None:
        for feed in self.feeds:
            # A failing batch stays pending and is retried at the next poll, as Lambda would retry it.
            self._ticker.every(self.interval, f"stream-{feed.function.logical_id}", feed.poll_once)

    def stop(self) -> None:
        self._ticker.stop()
