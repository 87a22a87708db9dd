"""The pacing job's writes. Each is conditional, so a run that repeats, overlaps or comes late changes nothing it
should not: a slot's throttle is written once, a status moves only from active, and only while the state the job
decided on still holds.
"""

import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.advertisers.repository import advertiser_key
from arbiter.ads.campaigns.models import CampaignStatus
from arbiter.ads.campaigns.repository import campaign_key, ledger_key
from arbiter.ads.pacing.calculations import ThrottleDecision
from arbiter.ads.serving.repository import BATCH_GET_LIMIT
from arbiter.dynamo import is_condition_failure
from arbiter.settings import get_settings

CONFLICT_ATTEMPTS = 3
CONFLICT_BACKOFF_SECONDS = 0.05


def _decimal(value: float, places: int) -> Decimal:
    return Decimal(str(round(value, places)))


def set_throttle(campaign_id: str, decision: ThrottleDecision, slot: str, day: str, now_iso: str) -> bool:
    """Store the slot's throttle and the checkpoint the next run measures from on the LEDGER item, unless this or
    a later slot was already written (a double or out-of-order run). Returns whether it wrote."""
    names = {"#slot": "pacing_slot"}
    values: dict = {
        ":throttle": _decimal(decision.throttle, 4),
        ":slot": slot,
        ":at": now_iso,
        ":day": day,
        ":spent": decision.spent_today,
    }
    update = (
        "SET pacing_throttle = :throttle, #slot = :slot, pacing_at = :at, pacing_day = :day, pacing_day_spent = :spent"
    )
    if decision.demand_rate is not None:
        values[":demand"] = _decimal(decision.demand_rate, 6)
        update += ", pacing_demand = :demand"
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            aws.campaigns_table().update_item(
                Key=ledger_key(campaign_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(#slot) OR #slot < :slot)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as error:
            if is_condition_failure(error):
                return False
            # An impression transaction was writing this ledger at that instant: try again shortly.
            if error.response["Error"]["Code"] != "TransactionConflictException" or attempt + 1 == CONFLICT_ATTEMPTS:
                raise
            time.sleep(CONFLICT_BACKOFF_SECONDS * (attempt + 1))
    return False  # unreachable: the loop returns or raises


def complete(campaign_id: str, end_date: str, now_iso: str) -> bool:
    """Status "completed" and out of the GSI2 serving index, while still active and still ending at the end_date
    the job judged (an end_date extended meanwhile wins). Returns whether this call changed it."""
    try:
        aws.campaigns_table().update_item(
            Key=campaign_key(campaign_id),
            UpdateExpression="SET #status = :completed, updated_at = :now REMOVE GSI2PK, GSI2SK",
            ConditionExpression="#status = :active AND end_date = :end",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":completed": CampaignStatus.COMPLETED.value,
                ":active": CampaignStatus.ACTIVE.value,
                ":end": end_date,
                ":now": now_iso,
            },
        )
        return True
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise


def _consistent_batch_get(keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    """BatchGetItem with ConsistentRead in chunks of 100, retrying unprocessed keys: the job decides on money
    counters, so it reads them strongly consistent (a lagging replica could hide an exhaustion for a run)."""
    table = get_settings().campaigns_table
    resource = aws.dynamodb_resource()
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        pending: Mapping[str, Any] = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
        while pending:
            response = resource.batch_get_item(RequestItems=pending)
            found += response.get("Responses", {}).get(table, [])
            pending = response.get("UnprocessedKeys") or {}
    return found


def ledgers(campaign_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """campaign id -> its LEDGER item."""
    items = _consistent_batch_get([ledger_key(campaign_id) for campaign_id in dict.fromkeys(campaign_ids)])
    return {str(item["campaign_id"]): item for item in items}


def advertiser_balances(tenant_ids: Iterable[str]) -> dict[str, int]:
    """advertiser tenant id -> balance in millicents (tenants without an advertiser item are left out)."""
    items = _consistent_batch_get([advertiser_key(tenant_id) for tenant_id in dict.fromkeys(tenant_ids)])
    return {str(item["PK"]).removeprefix("TENANT#"): int(item.get("balance_millicents", 0)) for item in items}
