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
"""

import re
from typing import Any

COUNT_ATTRIBUTE = "item_count"
_NAME = "#quota_count"
_ADD_CLAUSE = re.compile(r"\bADD\b", re.IGNORECASE)


def taking_slot(update: dict[str, Any], limit: int, attribute: str = COUNT_ATTRIBUTE) -> dict[str, Any]:
    """`update` (a TransactWriteItems Update with low-level values: TableName, Key, and optionally its own
    UpdateExpression, ConditionExpression, names and values) that also takes one of `limit` slots: it ADDs 1 to
    the counter, on condition (AND-ed with its own) that the counter is missing or below `limit`."""
    condition = f"(attribute_not_exists({_NAME}) OR {_NAME} < :quota_limit)"
    return _counting(update, 1, attribute, condition, {":quota_limit": {"N": str(limit)}})


def freeing_slot(update: dict[str, Any], attribute: str = COUNT_ATTRIBUTE) -> dict[str, Any]:
    """`update` that also gives a slot back (ADD -1), with no condition of its own."""
    return _counting(update, -1, attribute, None, {})


def counted(item: dict[str, Any] | None, attribute: str = COUNT_ATTRIBUTE) -> int:
    """The counter of a low-level item (as a cancellation reason's ALL_OLD item carries it); missing is 0."""
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
