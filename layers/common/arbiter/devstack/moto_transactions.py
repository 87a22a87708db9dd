"""Makes moto's TransactWriteItems cost O(items in the transaction) instead of O(table size) per item.

moto backs up a table with `copy.deepcopy` once per transaction *item* that names it (so a 100-item transaction
on the impressions table copies every impression, and the table's whole stream, 100 times) and restores the copy
if any item fails. That turns the billing and aggregator transactions quadratic in the local stack and tests.

This patch evaluates every condition against the current items first, exactly as moto would, and raises the
same TransactionCanceledException (with the same per-item reasons and ALL_OLD items) without writing anything
when one fails; when all pass, moto applies the transaction without taking the table backups, keeping copies of
the named items only, which undo it if an item fails while it is applied (e.g. past the 400 KB item limit).
Anything unusual in the dry run (duplicate items, malformed operations) falls back to moto's own path, backups
included. The replaced table object also broke stream iterators after every rollback; this patch's undo keeps
the table object and its stream. Local stack and tests only (`install()` / `uninstall()`).
"""

import copy
import threading
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_ORIGINAL = dynamodb_models.DynamoDBBackend.transact_write_items
_state = threading.local()


class _CopyWithoutTableBackups:
    """Stands in for the `copy` module inside moto.dynamodb.models while a checked transaction is applied."""

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if getattr(_state, "skip_table_backups", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


class _Unusual(Exception):
    """The dry run met something moto's own path should judge."""


def _condition_errors(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple]:
    errors: list[tuple] = []
    seen: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) != 1:
            raise _Unusual
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise _Unusual
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        identity = (op["TableName"], str(dict(sorted(key.items()))))
        if identity in seen:
            raise _Unusual
        seen.add(identity)
        condition = op.get("ConditionExpression")
        current = backend.get_item(op["TableName"], key)
        if condition is not None:
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
    return errors


class _TouchedItems:
    """The items a transaction names, as they were before it, and the length of each table's stream: enough to
    undo a transaction that fails while it is applied (an item past 400 KB), without moto's table backups."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]):
        self.items: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        self.streams: dict[int, tuple[Table, int]] = {}
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            if op_type == "ConditionCheck":  # writes nothing: nothing to undo
                continue
            table = backend.get_table(op["TableName"])
            key = op.get("Key") or op["Item"]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            # moto updates items in place: keep a copy of each (one item, not the table)
            self.items.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
            if table.stream_shard is not None:
                self.streams[id(table)] = (table, len(table.stream_shard.items))

    def restore(self) -> None:
        for table, hash_value, range_value, before in reversed(self.items):
            if range_value is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before
            elif before is None:
                table.items[hash_value].pop(range_value, None)
            else:
                table.items[hash_value][range_value] = before
        for table, length in self.streams.values():
            del table.stream_shard.items[length:]


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    try:
        errors = _condition_errors(self, transact_items)
    except Exception:
        return _ORIGINAL(self, transact_items)
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    touched = _TouchedItems(self, transact_items)
    _state.skip_table_backups = True
    try:
        return _ORIGINAL(self, transact_items)
    except Exception:
        touched.restore()  # all or nothing, as DynamoDB: an item that fails to apply undoes the ones before it
        raise
    finally:
        _state.skip_table_backups = False


def install() -> None:
    dynamodb_models.copy = _CopyWithoutTableBackups()
    dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items


def uninstall() -> None:
    dynamodb_models.copy = copy
    dynamodb_models.DynamoDBBackend.transact_write_items = _ORIGINAL
