"""Makes moto's TransactWriteItems cost O(items in the transaction) instead of O(table size) per item.

moto backs up a table with `copy.deepcopy` once per transaction *item* that names it (so a 100-item transaction
on the impressions table copies every impression, and the table's whole stream, 100 times) and restores the copy
if any item fails. That turns the billing and aggregator transactions quadratic in the local stack and tests.

This patch evaluates every condition against the current items first, exactly as moto would, and raises the
same TransactionCanceledException (with the same per-item reasons and ALL_OLD items) without writing anything
when one fails; when all pass, moto applies the transaction without taking the backups, since nothing will be
rolled back. Anything unusual in the dry run (duplicate items, malformed operations) falls back to moto's own
path, backups included. The replaced table object also broke stream iterators after every rollback; with no
rollback a table keeps its stream. Local stack and tests only (`install()` / `uninstall()`).
"""

import copy
import threading
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import TransactionCanceledException
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


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    try:
        errors = _condition_errors(self, transact_items)
    except Exception:
        return _ORIGINAL(self, transact_items)
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    _state.skip_table_backups = True
    try:
        return _ORIGINAL(self, transact_items)
    finally:
        _state.skip_table_backups = False


def install() -> None:
    dynamodb_models.copy = _CopyWithoutTableBackups()
    dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items


def uninstall() -> None:
    dynamodb_models.copy = copy
    dynamodb_models.DynamoDBBackend.transact_write_items = _ORIGINAL
