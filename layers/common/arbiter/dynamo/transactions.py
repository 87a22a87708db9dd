"""TransactWriteItems whose items have names, so a refusal says which conditions failed, not at which positions.

DynamoDB cancels a whole transaction when one item's condition is false, and tells why in one reason per item, in
the order the items were sent. Decoding those by index breaks as soon as an item is optional (a transaction that
only sometimes carries a counter); `transact` zips them with the caller's names instead, and the caller maps names
to its errors:

    try:
        transactions.transact([("entity", put), ("slot", taking_slot)], contended="...; retry")
    except transactions.ConditionsFailed as refused:
        if "slot" in refused.failed: ...

A transaction cancelled only because another one was writing one of its items (TransactionConflict) wrote nothing,
so it is sent again, after a short jitter, up to TRANSACT_ATTEMPTS in all; then it is a 409 (ConflictError) with
the caller's `contended` detail.
"""

import random
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.dynamo import cancellation_reasons
from arbiter.errors import ConflictError

# Writers of one item (a create and a delete of a capped collection both write its counter) may cancel each other
# where they would have passed one after the other; nothing was written then, so they are simply sent again.
TRANSACT_ATTEMPTS = 3


class ConditionsFailed(Exception):
    """The transaction was cancelled because the condition of one or more of its items was false: nothing was
    written. `failed` names those items; `old_items` holds, by name, the item as the transaction saw it when the
    item asked for it (ReturnValuesOnConditionCheckFailure ALL_OLD) and the reply carried it; `contended` says
    whether another transaction was also writing one of the items; `error` is DynamoDB's reply."""

    def __init__(
        self, failed: frozenset[str], old_items: dict[str, dict[str, Any]], contended: bool, error: ClientError
    ):
        super().__init__(f"condition failed on: {', '.join(sorted(failed))}")
        self.failed = failed
        self.old_items = old_items
        self.contended = contended
        self.error = error


def transact(named_items: Sequence[tuple[str, dict[str, Any]]], *, contended: str, client: Any = None) -> None:
    """TransactWriteItems of the items (each a TransactItems entry, under a name unique in the call), through
    `client` (default: the low-level client, so low-level values; a resource's `meta.client` takes plain Python
    values). Raises ConditionsFailed naming the items whose condition was false, ConflictError(`contended`) when
    conflicts persisted through TRANSACT_ATTEMPTS sends, and any other failure as it came."""
    items = [item for _, item in named_items]
    for attempt in range(1, TRANSACT_ATTEMPTS + 1):
        try:
            (client or aws.dynamodb_client()).transact_write_items(TransactItems=items)
            return
        except ClientError as error:
            reasons = cancellation_reasons(error)
            failed = [
                name for (name, _), code in zip(named_items, reasons, strict=False) if code == "ConditionalCheckFailed"
            ]
            if failed:
                raise ConditionsFailed(
                    frozenset(failed), _old_items(named_items, error), "TransactionConflict" in reasons, error
                ) from error
            if "TransactionConflict" not in reasons:
                raise
            if attempt == TRANSACT_ATTEMPTS:
                raise ConflictError(contended) from error
        time.sleep(random.uniform(0.01, 0.04) * attempt)  # jitter, not security


def _old_items(named_items: Sequence[tuple[str, dict[str, Any]]], error: ClientError) -> dict[str, dict[str, Any]]:
    reasons = error.response.get("CancellationReasons") or []
    return {name: reason["Item"] for (name, _), reason in zip(named_items, reasons, strict=False) if "Item" in reason}
