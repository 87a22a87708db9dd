"""Campaign aggregate storage (decisions D5).

Items: PK=CAMPAIGN#<id> with SK=CAMPAIGN (configuration and every child, embedded as maps) and SK=LEDGER (money
counters); both carry GSI1 keys for the tenant's newest-first listing, the campaign item carries GSI2 `SERVING`
keys only while active. PK=CREATIVE#<crt_id> SK=CREATIVE points a creative id at its campaign.

Every write a caller asks for is conditional on the caller's tenant_id. A false condition raises WriteRefused
naming the item(s) whose condition failed; the logic turns that into the error the caller gets (it needs a fresh
read to tell 403 from 404 from a business rule). The system's writes (exhaust_if_out_of_budget,
exhaust_if_balance_low: the pacing job and billing) are conditioned on status and money instead, and return
whether they changed the campaign.
"""

from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.advertisers.repository import advertiser_key
from arbiter.ads.campaigns.creative_models import CreativeDoc, CreativePointerItem
from arbiter.ads.campaigns.models import CampaignItem, CampaignStatus, LedgerItem
from arbiter.ads.serving import invalidation
from arbiter.dynamo import cancellation_reasons, is_condition_failure, page_all, transactions
from arbiter.dynamo.expressions import UpdateExpression
from arbiter.money import impression_charge_millicents
from arbiter.settings import get_settings

CAMPAIGN_SK = "CAMPAIGN"
LEDGER_SK = "LEDGER"
CREATIVE_SK = "CREATIVE"
SERVING = "SERVING"
TENANT_INDEX = "GSI1"


class ChildMap(StrEnum):
    """The maps embedded in the campaign item, each keyed by child id."""

    CREATIVES = "creatives"
    GEO_TARGETS = "geo_targets"
    BLOCKLIST = "blocklist"
    AFFINITIES = "affinities"


class WriteRefused(Exception):
    """A conditional write was refused; `failed` names the items whose condition was false."""

    def __init__(self, failed: frozenset[str]):
        super().__init__(f"condition failed on: {', '.join(sorted(failed))}")
        self.failed = failed


def campaign_key(campaign_id: str) -> dict[str, str]:
    return {"PK": f"CAMPAIGN#{campaign_id}", "SK": CAMPAIGN_SK}


def ledger_key(campaign_id: str) -> dict[str, str]:
    return {"PK": f"CAMPAIGN#{campaign_id}", "SK": LEDGER_SK}


def creative_pointer_key(creative_id: str) -> dict[str, str]:
    return {"PK": f"CREATIVE#{creative_id}", "SK": CREATIVE_SK}


def tenant_index_keys(tenant_id: str, created_at: str, campaign_id: str) -> dict[str, str]:
    return {"GSI1PK": f"TENANT#{tenant_id}#CAMPAIGNS", "GSI1SK": f"{created_at}#{campaign_id}"}


def _table_name() -> str:
    return get_settings().campaigns_table


def _transact(named_items: list[tuple[str, dict[str, Any]]]) -> None:
    try:
        transactions.transact(
            named_items,
            contended="The campaign is being changed by another request; retry",
            # The resource's client serializes plain Python values (str, int, Decimal, dict) like Table calls do.
            client=aws.dynamodb_resource().meta.client,
        )
    except transactions.ConditionsFailed as refused:
        raise WriteRefused(refused.failed) from refused
    invalidation.changed()


def _update_campaign(campaign_id: str, **kwargs: Any) -> dict[str, Any]:
    try:
        result = aws.campaigns_table().update_item(Key=campaign_key(campaign_id), **kwargs)
    except ClientError as error:
        if is_condition_failure(error):
            raise WriteRefused(frozenset({"campaign"})) from error
        raise
    invalidation.changed()
    return result


# ---- reads ---------------------------------------------------------------------------------------------------


def get(campaign_id: str) -> tuple[CampaignItem, LedgerItem] | None:
    """The campaign and its ledger: one Query on the partition returns both."""
    items = page_all(
        aws.campaigns_table().query,
        KeyConditionExpression=Key("PK").eq(f"CAMPAIGN#{campaign_id}"),
        ConsistentRead=True,
    )
    by_sort_key = {item["SK"]: item for item in items}
    if CAMPAIGN_SK not in by_sort_key or LEDGER_SK not in by_sort_key:
        return None
    return CampaignItem.model_validate(by_sort_key[CAMPAIGN_SK]), LedgerItem.model_validate(by_sort_key[LEDGER_SK])


def list_for_tenant(tenant_id: str) -> list[tuple[CampaignItem, LedgerItem]]:
    """Newest first: one Query on GSI1, which holds both items of every campaign under the same sort key."""
    items = page_all(
        aws.campaigns_table().query,
        IndexName=TENANT_INDEX,
        KeyConditionExpression=Key("GSI1PK").eq(f"TENANT#{tenant_id}#CAMPAIGNS"),
        ScanIndexForward=False,
    )
    campaigns: dict[str, dict[str, Any]] = {}
    ledgers: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["SK"] == CAMPAIGN_SK:
            campaigns[item["id"]] = item
        elif item["SK"] == LEDGER_SK:
            ledgers[item["campaign_id"]] = item
    return [
        (CampaignItem.model_validate(item), LedgerItem.model_validate(ledgers[campaign_id]))
        for campaign_id, item in campaigns.items()  # dicts keep the index's order
        if campaign_id in ledgers
    ]


def count_active(tenant_id: str) -> int:
    """How many of the tenant's campaigns are active: a COUNT Query on GSI1 (items are read, none returned)."""
    kwargs: dict[str, Any] = {
        "IndexName": TENANT_INDEX,
        "KeyConditionExpression": Key("GSI1PK").eq(f"TENANT#{tenant_id}#CAMPAIGNS"),
        "FilterExpression": Attr("SK").eq(CAMPAIGN_SK) & Attr("status").eq(CampaignStatus.ACTIVE.value),
        "Select": "COUNT",
    }
    count = 0
    while True:
        page = aws.campaigns_table().query(**kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_creative_pointer(creative_id: str) -> CreativePointerItem | None:
    item = aws.campaigns_table().get_item(Key=creative_pointer_key(creative_id)).get("Item")
    return CreativePointerItem.model_validate(item) if item else None


# ---- campaign writes -----------------------------------------------------------------------------------------


def create(campaign: CampaignItem, ledger: LedgerItem) -> None:
    index = tenant_index_keys(campaign.tenant_id, campaign.created_at, campaign.id)
    _transact(
        [
            (
                "campaign",
                {
                    "Put": {
                        "TableName": _table_name(),
                        "Item": {**campaign_key(campaign.id), **index, **campaign.model_dump(exclude_none=True)},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ),
            (
                "ledger",
                {
                    "Put": {
                        "TableName": _table_name(),
                        "Item": {**ledger_key(campaign.id), **index, **ledger.model_dump(exclude_none=True)},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ),
        ]
    )


def update_config(
    campaign_id: str,
    tenant_id: str,
    *,
    expected_version: int,
    set_fields: dict[str, Any],
    remove_fields: list[str],
    now: str,
) -> None:
    """Sets/removes configuration fields. A new budget_millicents is also copied to the ledger, in the same
    transaction, on condition that it still covers the spend (refusal names "ledger")."""
    update = UpdateExpression(
        names={"#version": "version", "#updated_at": "updated_at"},
        values={
            ":tenant": tenant_id,
            ":version": expected_version,
            ":one": 1,
            ":now": now,
            ":completed": CampaignStatus.COMPLETED.value,
        },
        assignments=["#version = #version + :one", "#updated_at = :now"],
    )
    update.set_fields(set_fields).remove_fields(remove_fields)
    campaign_update = {
        "Key": campaign_key(campaign_id),
        "UpdateExpression": update.expression,
        # Completion does not bump the version: a completed campaign is terminal, whatever version it is at.
        "ConditionExpression": "tenant_id = :tenant AND #version = :version AND #status <> :completed",
        "ExpressionAttributeNames": {**update.names, "#status": "status"},
        "ExpressionAttributeValues": update.values,
    }
    new_budget = set_fields.get("budget_millicents")
    if new_budget is None:
        _update_campaign(campaign_id, **{k: v for k, v in campaign_update.items() if k != "Key"})
        return
    _transact(
        [
            ("campaign", {"Update": {"TableName": _table_name(), **campaign_update}}),
            (
                "ledger",
                {
                    "Update": {
                        "TableName": _table_name(),
                        "Key": ledger_key(campaign_id),
                        "UpdateExpression": "SET budget_millicents = :budget",
                        "ConditionExpression": "tenant_id = :tenant AND spent_millicents <= :budget",
                        "ExpressionAttributeValues": {":budget": new_budget, ":tenant": tenant_id},
                    }
                },
            ),
        ]
    )


def activate(
    campaign_id: str,
    tenant_id: str,
    now: str,
    *,
    expected_version: int,
    budget_millicents: int,
    impression_price_millicents: int,
) -> None:
    """Active and in the serving index, if: the configuration is still the version the caller checked (bid,
    dates), neither active nor completed (terminal), ≥1 creative, the budget left and the advertiser balance each
    pay one impression. Refusal names "campaign", "ledger" and/or "advertiser"."""
    table = _table_name()
    _transact(
        [
            (
                "campaign",
                {
                    "Update": {
                        "TableName": table,
                        "Key": campaign_key(campaign_id),
                        "UpdateExpression": "SET #status = :active, GSI2PK = :serving, GSI2SK = :id, updated_at = :now",
                        "ConditionExpression": "tenant_id = :tenant AND #version = :version "
                        "AND NOT #status IN (:active, :completed) AND size(creatives) > :zero",
                        "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
                        "ExpressionAttributeValues": {
                            ":active": CampaignStatus.ACTIVE.value,
                            ":completed": CampaignStatus.COMPLETED.value,
                            ":serving": SERVING,
                            ":id": campaign_id,
                            ":now": now,
                            ":tenant": tenant_id,
                            ":version": expected_version,
                            ":zero": 0,
                        },
                    }
                },
            ),
            (
                "ledger",
                {
                    # Condition expressions have no arithmetic: "budget - spent >= price" is written as the spend
                    # limit for the budget the caller read, with that budget pinned.
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": ledger_key(campaign_id),
                        "ConditionExpression": "budget_millicents = :budget AND spent_millicents <= :max_spent",
                        "ExpressionAttributeValues": {
                            ":budget": budget_millicents,
                            ":max_spent": budget_millicents - impression_price_millicents,
                        },
                    }
                },
            ),
            (
                "advertiser",
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": advertiser_key(tenant_id),
                        "ConditionExpression": "balance_millicents >= :price",
                        "ExpressionAttributeValues": {":price": impression_price_millicents},
                    }
                },
            ),
        ]
    )


def pause(campaign_id: str, tenant_id: str, now: str) -> None:
    """Paused and out of the serving index, if active."""
    _update_campaign(
        campaign_id,
        UpdateExpression="SET #status = :paused, updated_at = :now REMOVE GSI2PK, GSI2SK",
        ConditionExpression="tenant_id = :tenant AND #status = :active",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":paused": CampaignStatus.PAUSED.value,
            ":active": CampaignStatus.ACTIVE.value,
            ":now": now,
            ":tenant": tenant_id,
        },
    )


# ---- embedded children ---------------------------------------------------------------------------------------


def put_child(
    campaign_id: str, tenant_id: str, child_map: ChildMap, doc: dict[str, Any], *, max_children: int | None = None
) -> None:
    """Adds one child; with max_children, only while the map holds fewer (a size() condition, so no race)."""
    condition = "tenant_id = :tenant AND attribute_not_exists(#map.#child)"
    values: dict[str, Any] = {":tenant": tenant_id, ":doc": doc}
    if max_children is not None:
        condition += " AND size(#map) < :max"
        values[":max"] = max_children
    _update_campaign(
        campaign_id,
        UpdateExpression="SET #map.#child = :doc",
        ConditionExpression=condition,
        ExpressionAttributeNames={"#map": child_map.value, "#child": doc["id"]},
        ExpressionAttributeValues=values,
    )


def remove_child(campaign_id: str, tenant_id: str, child_map: ChildMap, child_id: str) -> None:
    _update_campaign(
        campaign_id,
        UpdateExpression="REMOVE #map.#child",
        ConditionExpression="tenant_id = :tenant AND attribute_exists(#map.#child)",
        ExpressionAttributeNames={"#map": child_map.value, "#child": child_id},
        ExpressionAttributeValues={":tenant": tenant_id},
    )


def replace_children(campaign_id: str, tenant_id: str, child_map: ChildMap, docs: dict[str, dict[str, Any]]) -> None:
    """One SET of the whole map: the old children go and the new ones appear together, or nothing changes."""
    _update_campaign(
        campaign_id,
        UpdateExpression="SET #map = :docs",
        ConditionExpression="tenant_id = :tenant",
        ExpressionAttributeNames={"#map": child_map.value},
        ExpressionAttributeValues={":tenant": tenant_id, ":docs": docs},
    )


# ---- creatives (embedded child + pointer item, written together) ----------------------------------------------


def add_creative(
    campaign_id: str, tenant_id: str, doc: CreativeDoc, pointer: CreativePointerItem, *, max_creatives: int
) -> None:
    """Adds the creative and its pointer together, only while the campaign holds fewer than max_creatives."""
    table = _table_name()
    _transact(
        [
            (
                "campaign",
                {
                    "Update": {
                        "TableName": table,
                        "Key": campaign_key(campaign_id),
                        "UpdateExpression": "SET #map.#child = :doc",
                        "ConditionExpression": (
                            "tenant_id = :tenant AND attribute_not_exists(#map.#child) AND size(#map) < :max"
                        ),
                        "ExpressionAttributeNames": {"#map": ChildMap.CREATIVES.value, "#child": doc.id},
                        "ExpressionAttributeValues": {
                            ":tenant": tenant_id,
                            ":doc": doc.model_dump(exclude_none=True),
                            ":max": max_creatives,
                        },
                    }
                },
            ),
            (
                "pointer",
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**creative_pointer_key(doc.id), **pointer.model_dump()},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ),
        ]
    )


def update_creative(
    campaign_id: str,
    tenant_id: str,
    creative_id: str,
    *,
    set_fields: dict[str, Any],
    remove_fields: list[str],
    now: str,
) -> CreativeDoc:
    update = UpdateExpression(
        names={"#map": ChildMap.CREATIVES.value, "#child": creative_id, "#updated_at": "updated_at"},
        values={":tenant": tenant_id, ":now": now},
        assignments=["#map.#child.#updated_at = :now"],
    )
    update.set_fields(set_fields, path="#map.#child.").remove_fields(remove_fields, path="#map.#child.")
    attributes = _update_campaign(
        campaign_id,
        UpdateExpression=update.expression,
        ConditionExpression="tenant_id = :tenant AND attribute_exists(#map.#child)",
        ExpressionAttributeNames=update.names,
        ExpressionAttributeValues=update.values,
        ReturnValues="ALL_NEW",
    )["Attributes"]
    return CreativeDoc.model_validate(attributes[ChildMap.CREATIVES.value][creative_id])


def delete_creative(campaign_id: str, tenant_id: str, creative_id: str) -> None:
    """Removes the creative and its pointer together. The condition keeps an active campaign's last creative:
    a concurrent delete of the other one cannot slip between a read and this write."""
    table = _table_name()
    _transact(
        [
            (
                "campaign",
                {
                    "Update": {
                        "TableName": table,
                        "Key": campaign_key(campaign_id),
                        "UpdateExpression": "REMOVE #map.#child",
                        "ConditionExpression": (
                            "tenant_id = :tenant AND attribute_exists(#map.#child) "
                            "AND (#status <> :active OR size(#map) > :one)"
                        ),
                        "ExpressionAttributeNames": {
                            "#map": ChildMap.CREATIVES.value,
                            "#child": creative_id,
                            "#status": "status",
                        },
                        "ExpressionAttributeValues": {
                            ":tenant": tenant_id,
                            ":active": CampaignStatus.ACTIVE.value,
                            ":one": 1,
                        },
                    }
                },
            ),
            (
                "pointer",
                {
                    "Delete": {
                        "TableName": table,
                        "Key": creative_pointer_key(creative_id),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ),
        ]
    )


# ---- exhaustion: the pacing job and billing ------------------------------------------------------------------


def _exhaust(campaign_id: str, cpm_bid_cents: int, now_iso: str, check: dict) -> bool:
    table = get_settings().campaigns_table
    items = [
        {
            "Update": {
                "TableName": table,
                "Key": {name: {"S": value} for name, value in campaign_key(campaign_id).items()},
                "UpdateExpression": "SET #status = :exhausted, updated_at = :now REMOVE GSI2PK, GSI2SK",
                # Still active, and still at the bid the caller priced one impression with (a bid lowered
                # meanwhile may make the budget or balance enough again).
                "ConditionExpression": "#status = :active AND cpm_bid_cents = :bid",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":exhausted": {"S": CampaignStatus.EXHAUSTED.value},
                    ":active": {"S": CampaignStatus.ACTIVE.value},
                    ":bid": {"N": str(cpm_bid_cents)},
                    ":now": {"S": now_iso},
                },
            }
        },
        {"ConditionCheck": {"TableName": table, **check}},
    ]
    try:
        aws.dynamodb_client().transact_write_items(TransactItems=items)
    except ClientError as error:
        if cancellation_reasons(error):
            return False  # no longer active, budget raised or deposit made meanwhile, or a concurrent write
        raise
    invalidation.changed()
    return True


def exhaust_if_out_of_budget(campaign_id: str, budget: int, cpm_bid_cents: int, now_iso: str) -> bool:
    """Exhausted while the ledger still cannot pay one impression at the campaign's bid: its budget is still the
    one the caller read and spent > budget - price (conditions cannot do arithmetic, so the limit is computed
    here), and the bid is still `cpm_bid_cents`, checked in the same transaction, so a budget raised or a bid
    lowered meanwhile wins. Used by the pacing job and by billing. Returns whether this call changed it."""
    price = impression_charge_millicents(cpm_bid_cents)
    key = ledger_key(campaign_id)
    check = {
        "Key": {"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}},
        "ConditionExpression": "budget_millicents = :budget AND spent_millicents > :limit",
        "ExpressionAttributeValues": {":budget": {"N": str(budget)}, ":limit": {"N": str(budget - price)}},
    }
    return _exhaust(campaign_id, cpm_bid_cents, now_iso, check)


def exhaust_if_balance_low(campaign_id: str, advertiser_tenant_id: str, cpm_bid_cents: int, now_iso: str) -> bool:
    """Exhausted while the advertiser's balance cannot pay one impression at the campaign's bid (still
    `cpm_bid_cents`), checked in the same transaction, so a deposit made or a bid lowered meanwhile wins. Used by
    the pacing job (without it, a campaign /match never serves would stay active forever) and by billing."""
    price = impression_charge_millicents(cpm_bid_cents)
    key = advertiser_key(advertiser_tenant_id)
    check = {
        "Key": {"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}},
        "ConditionExpression": "balance_millicents < :price",
        "ExpressionAttributeValues": {":price": {"N": str(price)}},
    }
    return _exhaust(campaign_id, cpm_bid_cents, now_iso, check)
