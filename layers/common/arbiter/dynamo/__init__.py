"""Small helpers over boto3 shared by the repositories."""

import json
from typing import Any

from botocore.exceptions import ClientError


def is_condition_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def cancellation_reasons(error: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction ('None' for items that were fine)."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return []
    reasons = error.response.get("CancellationReasons") or []
    if reasons:
        return [reason.get("Code", "None") for reason in reasons]
    # Some endpoints only put the reasons in the message: "... [ConditionalCheckFailed, None]".
    message = error.response["Error"].get("Message", "")
    inside = message[message.find("[") + 1 : message.rfind("]")] if "[" in message else ""
    return [part.strip() for part in inside.split(",") if part.strip()]


def page_all(call, **kwargs) -> list[dict]:
    """All items of a paginated Query/Scan."""
    items: list[dict] = []
    while True:
        page = call(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_item_too_large(error: ClientError) -> bool:
    """DynamoDB refused a write because the item would pass its 400 KB limit (alone, or inside a transaction)."""
    details = error.response.get("Error", {})
    messages = [details.get("Message", "")] if details.get("Code") == "ValidationException" else []
    messages += [reason.get("Message") or "" for reason in error.response.get("CancellationReasons") or []]
    return any("Item size" in message and "exceeded" in message for message in messages)


# Refusals that say "not now" rather than "no": another request was writing the same item, or the table or
# account was over its throughput. The same request may succeed a moment later.
_TRANSIENT_CODES = frozenset(
    {
        "TransactionConflictException",
        "TransactionInProgressException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)
_TRANSIENT_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


def is_transient(error: ClientError) -> bool:
    """DynamoDB refused the call for contention or throttling, so nothing it asked for happened."""
    if error.response.get("Error", {}).get("Code") in _TRANSIENT_CODES:
        return True
    return any(reason in _TRANSIENT_REASONS for reason in cancellation_reasons(error))


def stored_size(value: Any) -> int:
    """About the bytes DynamoDB counts for a value (its attribute names and values): its compact JSON as UTF-8,
    which counts a little more than DynamoDB does (quotes, separators), so limits built on it err on the safe side."""
    return len(json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
