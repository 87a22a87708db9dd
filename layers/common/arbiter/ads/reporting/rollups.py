"""Applying billed impressions to the rollups, exactly once per impression.

Counters: the facts of a batch are summed per counter item first; each chunk of impressions is then one
TransactWriteItems holding one conditional "applied" marker per impression (`SET aggregated_at` on the
impression item itself, condition: not yet set) and one ADD per distinct counter item of the chunk. A redelivered
impression fails its marker condition, which cancels the transaction; the chunk is rebuilt without the impressions
already applied and retried, so nothing is counted twice and nothing is half-applied.

Sketches (unique users) are HyperLogLogs: merging a user twice changes nothing, so they are applied for every
impression of a batch, redelivered or not, with an optimistic read-modify-write per sketch item.
"""

import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.ads.reporting import keys
from arbiter.ads.reporting.facts import ImpressionFact
from arbiter.ads.reporting.hll import HyperLogLog
from arbiter.dynamo import cancellation_reasons, is_condition_failure
from arbiter.settings import get_settings

MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 0.05

CounterKey = tuple[str, str]  # (PK, SK)


class RollupWriteFailed(Exception):
    """A chunk or sketch could not be written after retries; its impressions must be redelivered."""

    def __init__(self, impression_ids: Iterable[str], reason: str):
        super().__init__(reason)
        self.impression_ids = frozenset(impression_ids)


@dataclass
class ApplyReport:
    applied: int = 0  # impressions counted by this call
    already_applied: int = 0  # redelivered impressions skipped by their marker
    transactions: int = 0
    counter_writes: int = 0
    marker_writes: int = 0
    sketch_writes: int = 0
    sketch_bytes_written: int = 0
    failed: set[str] = field(default_factory=set)  # impression ids to report as failed


def counter_deltas(fact: ImpressionFact) -> dict[CounterKey, Counter]:
    """Every counter item one impression moves, with its increments."""
    base = Counter(impressions=1, spent_millicents=fact.charged_millicents)
    if fact.affinity_score_e4 is not None:
        base.update(score_sum_e4=fact.affinity_score_e4, scored_impressions=1)
    campaign = keys.campaign_counters_pk(fact.campaign_id)
    deltas: dict[CounterKey, Counter] = {
        (campaign, keys.DAY + fact.day): base,
        (campaign, keys.CREATIVE + fact.creative_id): base,
        (campaign, keys.COUNTRY + fact.country_code): base,
        (campaign, keys.GAME + fact.game_id): base,
    }
    for affinity_id, contribution in fact.contributions_e4.items():
        deltas[(campaign, keys.AFFINITY + affinity_id)] = Counter(impressions=1, contribution_sum_e4=contribution)
    game = keys.game_counters_pk(fact.game_id)
    earned = Counter(impressions=1, earned_millicents=fact.developer_share_millicents)
    deltas[(game, keys.DAY + fact.day)] = earned
    deltas[(game, keys.ADVERTISER + fact.advertiser_id)] = earned + Counter(spent_millicents=fact.charged_millicents)
    return deltas


def sum_deltas(facts: Iterable[ImpressionFact]) -> dict[CounterKey, Counter]:
    totals: dict[CounterKey, Counter] = defaultdict(Counter)
    for fact in facts:
        for key, delta in counter_deltas(fact).items():
            totals[key].update(delta)
    return totals


def plan_chunks(facts: list[ImpressionFact]) -> list[list[ImpressionFact]]:
    """Greedy: as many impressions per transaction as fit with their distinct counter items in 100 items."""
    chunks: list[list[ImpressionFact]] = []
    current: list[ImpressionFact] = []
    current_keys: set[CounterKey] = set()
    for fact in facts:
        fact_keys = set(counter_deltas(fact))
        merged = current_keys | fact_keys
        if current and len(current) + 1 + len(merged) > MAX_TRANSACTION_ITEMS:
            chunks.append(current)
            current, current_keys = [], set()
            merged = fact_keys
        current.append(fact)
        current_keys = merged
    if current:
        chunks.append(current)
    return chunks


def _marker(fact: ImpressionFact, now: str) -> dict:
    return {
        "Update": {
            "TableName": get_settings().impressions_table,
            "Key": keys.impression_key(fact.impression_id),
            "UpdateExpression": "SET aggregated_at = :now",
            "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(aggregated_at)",
            "ExpressionAttributeValues": {":now": {"S": now}},
        }
    }


def _counter_update(key: CounterKey, delta: Counter, now: str) -> dict:
    names = {f"#c{i}": name for i, name in enumerate(sorted(delta))}
    values = {f":c{i}": {"N": str(delta[name])} for i, name in enumerate(sorted(delta))}
    additions = ", ".join(f"#c{i} :c{i}" for i in range(len(names)))
    return {
        "Update": {
            "TableName": get_settings().impressions_table,
            "Key": {"PK": {"S": key[0]}, "SK": {"S": key[1]}},
            "UpdateExpression": f"ADD {additions} SET updated_at = :now",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {**values, ":now": {"S": now}},
        }
    }


def _apply_chunk(chunk: list[ImpressionFact], report: ApplyReport) -> None:
    pending = list(chunk)
    for attempt in range(MAX_ATTEMPTS):
        if not pending:
            return
        now = clock.now_iso()
        totals = sum_deltas(pending)
        items = [_marker(fact, now) for fact in pending]
        items += [_counter_update(key, delta, now) for key, delta in totals.items()]
        try:
            aws.dynamodb_client().transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if not reasons:
                raise
            marker_codes = zip(pending, reasons, strict=False)  # markers come first in the transaction
            done = {fact.impression_id for fact, code in marker_codes if code == "ConditionalCheckFailed"}
            if done:
                # Already counted (a redelivery), or no such impression item: either way, not to be counted now.
                report.already_applied += len(done)
                pending = [fact for fact in pending if fact.impression_id not in done]
                continue
            if "TransactionConflict" in reasons or "ThrottlingError" in reasons:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * (attempt + 1)))
                continue
            raise
        report.transactions += 1
        report.applied += len(pending)
        report.marker_writes += len(pending)
        report.counter_writes += len(totals)
        return
    raise RollupWriteFailed((fact.impression_id for fact in pending), "counter transaction kept conflicting")


def apply_counters(facts: list[ImpressionFact], report: ApplyReport) -> None:
    unique = list({fact.impression_id: fact for fact in facts}.values())
    for chunk in plan_chunks(unique):
        try:
            _apply_chunk(chunk, report)
        except (RollupWriteFailed, ClientError):
            report.failed.update(fact.impression_id for fact in chunk)


# ---- unique-user sketches --------------------------------------------------------------------------------------


def sketch_members(facts: Iterable[ImpressionFact]) -> dict[CounterKey, dict[str, set[str]]]:
    """Sketch item -> user keys to add, and which impressions they come from (for failure reporting)."""
    members: dict[CounterKey, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for fact in facts:
        if fact.user_key is None:
            continue
        pk = keys.campaign_sketches_pk(fact.campaign_id)
        for sk in (
            keys.ALL_USERS,
            keys.DAY + fact.day,
            keys.CREATIVE + fact.creative_id,
            keys.COUNTRY + fact.country_code,
        ):
            members[(pk, sk)][fact.user_key].add(fact.impression_id)
    return members


def _merge_sketch(key: CounterKey, users: Iterable[str], report: ApplyReport) -> None:
    table = aws.dynamodb_resource().Table(get_settings().impressions_table)
    users = list(users)
    for attempt in range(MAX_ATTEMPTS):
        stored = table.get_item(Key={"PK": key[0], "SK": key[1]}, ConsistentRead=True).get("Item")
        sketch = HyperLogLog.from_bytes(stored["registers"].value) if stored else HyperLogLog()
        changed = False
        for user in users:
            changed = sketch.add(user) or changed
        if not changed:
            return
        blob = sketch.to_bytes()
        version = int(stored["version"]) if stored else 0
        condition = {"ConditionExpression": "version = :version", "ExpressionAttributeValues": {":version": version}}
        if not stored:
            condition = {"ConditionExpression": "attribute_not_exists(PK)"}
        try:
            table.put_item(
                Item={
                    "PK": key[0],
                    "SK": key[1],
                    "registers": blob,
                    "version": version + 1,
                    "estimate": sketch.estimate(),
                    "updated_at": clock.now_iso(),
                },
                **condition,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            time.sleep(random.uniform(0, BACKOFF_SECONDS * (attempt + 1)))
            continue  # another shard wrote it meanwhile: merge again into its version
        report.sketch_writes += 1
        report.sketch_bytes_written += len(blob)
        return
    raise RollupWriteFailed((), f"sketch {key} kept changing under this writer")


def apply_sketches(facts: list[ImpressionFact], report: ApplyReport) -> None:
    for key, users in sketch_members(facts).items():
        try:
            _merge_sketch(key, users, report)
        except (RollupWriteFailed, ClientError):
            report.failed.update(imp for impressions in users.values() for imp in impressions)


def apply(facts: list[ImpressionFact]) -> ApplyReport:
    """Counts each impression exactly once and merges its user into the sketches; `failed` lists the impressions
    whose writes did not all succeed (their records must be redelivered; a redelivery is safe)."""
    report = ApplyReport()
    apply_counters(facts, report)
    apply_sketches(facts, report)
    return report
