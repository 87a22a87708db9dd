"""Count caps that concurrent creates cannot pass: a counter written in the same transaction as what it counts.

A capped collection (a game's offers, a tenant's decision rules, ...) keeps its size in a number attribute of one
item that its creates and deletes write in their own TransactWriteItems:
- a create ADDs 1 on condition that the counter is missing or below the cap (`taking_slot`), so however many
  creates race, DynamoDB lets through only as many as there are slots left, and a refused create writes nothing;
- a delete ADDs -1 (`freeing_slot`); a replace leaves the counter alone.
A missing counter counts 0. Not a COUNT Query before the write: that costs a read of every item counted on every
create, and concurrent creates that all counted below the cap would all pass it.

The caller sends the transaction with arbiter.dynamo.transactions.transact, which sends it again when a create and
a delete of one collection (both writing the counter) cancelled each other, and maps a refusal: the counter's item
is among the names of the failed conditions, and it answers its 422 (BusinessRuleError) naming the limit.

A collection may also keep a total next to its count (the bytes of its items' stored JSON: a `Measure`), in the
same counter item and the same ADD: a write that grows the total by `delta` is conditioned on the total staying
within its `budget` (`total <= budget - delta`, computed here: DynamoDB conditions have no arithmetic), one that
shrinks it has no condition. A missing total counts 0. A refusal names the counter item as for the count; the
caller tells the two apart from the counter as the transaction saw it (ReturnValuesOnConditionCheckFailure).
"""

import re
from dataclasses import dataclass
from typing import Any

COUNT_ATTRIBUTE = "item_count"
BYTES_ATTRIBUTE = "bytes"
_NAME = "#quota_count"
_MEASURE = "#quota_measure"


@dataclass(frozen=True, slots=True)
class Measure:
    """A change of `delta` to the total in `attribute` of the counter item, which must stay within `budget`."""

    delta: int
    budget: int
    attribute: str = BYTES_ATTRIBUTE


_ADD_CLAUSE = re.compile(r"\bADD\b", re.IGNORECASE)


def taking_slot(
    update: dict[str, Any], limit: int, attribute: str = COUNT_ATTRIBUTE, measure: Measure | None = None
) -> dict[str, Any]:
    """`update` (a TransactWriteItems Update with low-level values: TableName, Key, and optionally its own
    UpdateExpression, ConditionExpression, names and values) that also takes one of `limit` slots: it ADDs 1 to
    the counter, on condition (AND-ed with its own) that the counter is missing or below `limit`; and, with a
    `measure`, changes the total (`measuring`) in the same ADD."""
    condition = f"(attribute_not_exists({_NAME}) OR {_NAME} < :quota_limit)"
    counted_update = _counting(update, 1, attribute, condition, {":quota_limit": {"N": str(limit)}})
    return _measuring(counted_update, measure, grouped=True) if measure is not None else counted_update


def freeing_slot(
    update: dict[str, Any], attribute: str = COUNT_ATTRIBUTE, measure: Measure | None = None
) -> dict[str, Any]:
    """`update` that also gives a slot back (ADD -1), with no condition of its own; with a `measure` (a shrink:
    the freed item's size, negative), changes the total in the same ADD."""
    counted_update = _counting(update, -1, attribute, None, {})
    return _measuring(counted_update, measure, grouped=True) if measure is not None else counted_update


def measuring(update: dict[str, Any], measure: Measure) -> dict[str, Any]:
    """`update` that changes only the total (a replace of a measured item: delta = new size - old size), on
    condition, when it grows, that the total stays within the budget."""
    if _ADD_CLAUSE.search(update.get("UpdateExpression", "")):
        raise ValueError("the update has an ADD clause of its own; put the counter in it by hand")
    return _measuring(update, measure)


def _measuring(update: dict[str, Any], measure: Measure, grouped: bool = False) -> dict[str, Any]:
    # grouped: the update's condition is the counter's, already AND-ed groups (DynamoDB refuses redundant parentheses)
    expression = update.get("UpdateExpression", "")
    added = f"{_MEASURE} :quota_measure_delta"
    # the update's ADD clause is the counter's own (taking_slot, freeing_slot) or there is none (measuring)
    expression = (
        _ADD_CLAUSE.sub(f"ADD {added},", expression, count=1)
        if _ADD_CLAUSE.search(expression)
        else (f"{expression} ADD {added}".strip())
    )
    room = measure.budget - measure.delta
    values = {":quota_measure_delta": {"N": str(measure.delta)}}
    merged = {
        **update,
        "UpdateExpression": expression,
        "ExpressionAttributeNames": {**update.get("ExpressionAttributeNames", {}), _MEASURE: measure.attribute},
        "ExpressionAttributeValues": {**update.get("ExpressionAttributeValues", {}), **values},
    }
    if measure.delta > 0:
        merged["ExpressionAttributeValues"][":quota_room"] = {"N": str(room)}
        # a growth past the whole budget never passes, even on a missing total (which counts 0)
        condition = (
            f"(attribute_not_exists({_MEASURE}) OR {_MEASURE} <= :quota_room)"
            if room >= 0
            else f"{_MEASURE} <= :quota_room"
        )
        own = update.get("ConditionExpression")
        joined = f"{own} AND {condition}" if grouped else f"({own}) AND {condition}"
        merged["ConditionExpression"] = joined if own else condition
    return merged


def counted(item: dict[str, Any] | None, attribute: str = COUNT_ATTRIBUTE) -> int:
    """The counter (or, by `attribute`, a total) of a low-level item (as a cancellation reason's ALL_OLD item
    carries it); missing is 0."""
    value = (item or {}).get(attribute)
    return int(value["N"]) if value else 0


def _counting(
    update: dict[str, Any], delta: int, attribute: str, condition: str | None, values: dict[str, Any]
) -> dict[str, Any]:
    expression = update.get("UpdateExpression", "")
    if _ADD_CLAUSE.search(expression):
        raise ValueError("the update has an ADD clause of its own; put the counter in it by hand")
    merged = {
        **update,
        "UpdateExpression": f"{expression} ADD {_NAME} :quota_delta".strip(),
        "ExpressionAttributeNames": {**update.get("ExpressionAttributeNames", {}), _NAME: attribute},
        "ExpressionAttributeValues": {
            **update.get("ExpressionAttributeValues", {}),
            ":quota_delta": {"N": str(delta)},
            **values,
        },
    }
    if condition is not None:
        own = update.get("ConditionExpression")
        merged["ConditionExpression"] = f"({own}) AND {condition}" if own else condition
    return merged
