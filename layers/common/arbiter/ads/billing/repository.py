"""The billing transaction. All-or-nothing: the impression is recorded exactly once and every counter moves
together, or nothing is written.

Items written in one TransactWriteItems:
1. impressions table  PK=IMP#<impression_id>: the impression (condition: not recorded before -> exactly once;
   impression ids are derived from the token's jti or the Idempotency-Key, so a replay collides here).
2. campaigns table    CAMPAIGN#<id>/LEDGER: spent += charge, day_spent += charge and the creative's impression
   counter += 1, under conditions that keep spent <= budget and day_spent <= daily cap (the budget the caller
   priced with must still be the budget).
3. campaigns table    CAMPAIGN#<id>/CAMPAIGN: condition only - the campaign is still active.
4. campaigns table    TENANT#<advertiser>/ADVERTISER: balance -= charge, condition balance >= charge.
5. campaigns table    GAME#<game_id>/EARNINGS: developer share and impression count.
The session's frequency counters are not billing's: /match counts each ad it serves (serving.repository).
"""

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.billing.models import BillingCampaignView, BillingLedgerView, ImpressionCharge
from arbiter.ads.matching.models import ServingCampaign
from arbiter.dynamo import cancellation_reasons, page_all
from arbiter.settings import get_settings


class ImpressionAlreadyRecorded(Exception):
    """The impression id exists: this is a replay."""


class TransactionContended(Exception):
    """Another transaction was writing the same items at the same moment; retrying is safe."""


class ChargeRefused(Exception):
    """A condition failed; `reason` says on which item: "campaign" (not active, or its daily cap changed), "ledger"
    (budget, daily cap, or values read before a budget edit or day rollover) or "balance"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _impression_item(charge: ImpressionCharge) -> dict:
    item = {
        "PK": _s(f"IMP#{charge.impression_id}"),
        "SK": _s("IMP"),
        "impression_id": _s(charge.impression_id),
        "developer_tenant_id": _s(charge.developer_tenant_id),
        "advertiser_tenant_id": _s(charge.advertiser_tenant_id),
        "advertiser_id": _s(charge.advertiser_id),
        "campaign_id": _s(charge.campaign_id),
        "creative_id": _s(charge.creative_id),
        "game_id": _s(charge.game_id),
        "creator_id": _s(charge.creator_id),
        "charged_millicents": _n(charge.charged_millicents),
        "developer_share_millicents": _n(charge.developer_share_millicents),
        "platform_take_millicents": _n(charge.platform_take_millicents),
        "day": _s(charge.day),
        "recorded_at": _s(charge.recorded_at),
        "idempotency_source": _s(charge.idempotency_source),
    }
    for name in ("user_id", "session_id", "country_code"):
        if getattr(charge, name):
            item[name] = _s(getattr(charge, name))
    if charge.affinity_score is not None:
        item["affinity_score"] = {"N": repr(round(charge.affinity_score, 4))}
    if charge.contributions:
        item["contributions"] = {"M": {k: {"N": repr(round(v, 4))} for k, v in charge.contributions.items()}}
    return item


def _ledger_update(charge: ImpressionCharge) -> dict:
    settings = get_settings()
    names = {"#spent": "spent_millicents", "#budget": "budget_millicents", "#day": "spend_day"}
    values = {
        ":charge": _n(charge.charged_millicents),
        ":budget": _n(charge.budget_millicents),
        ":spent_limit": _n(charge.budget_millicents - charge.charged_millicents),
        ":today": _s(charge.day),
    }
    names["#day_spent"] = "day_spent_millicents"
    condition = "#budget = :budget AND #spent <= :spent_limit AND #day = :today"
    if charge.daily_cap_millicents is not None:
        values[":day_limit"] = _n(charge.daily_cap_millicents - charge.charged_millicents)
        condition += " AND #day_spent <= :day_limit"
    # ADD only works on top-level attributes, so the per-creative counter (read by the creatives API) is a SET
    # with if_not_exists; the map itself is created (empty) with the ledger.
    names.update({"#per_creative": "creative_impressions", "#creative": charge.creative_id})
    counter = "#per_creative.#creative"
    return {
        "Update": {
            "TableName": settings.campaigns_table,
            "Key": {"PK": _s(f"CAMPAIGN#{charge.campaign_id}"), "SK": _s("LEDGER")},
            "UpdateExpression": f"ADD #spent :charge, #day_spent :charge, impressions :one "
            f"SET {counter} = if_not_exists({counter}, :zero) + :one",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {**values, ":one": _n(1), ":zero": _n(0)},
        }
    }


def _campaign_check(charge: ImpressionCharge) -> dict[str, Any]:
    """The campaign is active and its daily cap is still the one the ledger condition was computed from (a cap
    lowered while this impression was priced would otherwise be passed by it)."""
    settings = get_settings()
    names = {"#status": "status", "#cap": "daily_cap_millicents"}
    values = {":active": _s("active")}
    if charge.daily_cap_millicents is None:
        same_cap = "(attribute_not_exists(#cap) OR attribute_type(#cap, :null_type))"
        values[":null_type"] = _s("NULL")
    else:
        same_cap = "#cap = :cap"
        values[":cap"] = _n(charge.daily_cap_millicents)
    return {
        "ConditionCheck": {
            "TableName": settings.campaigns_table,
            "Key": {"PK": _s(f"CAMPAIGN#{charge.campaign_id}"), "SK": _s("CAMPAIGN")},
            "ConditionExpression": f"#status = :active AND {same_cap}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def record(charge: ImpressionCharge) -> None:
    """Run the transaction; when it is cancelled raise ImpressionAlreadyRecorded (a replay), ChargeRefused(reason)
    or TransactionContended (a concurrent write to one of its items: retry)."""
    settings = get_settings()
    items = [
        {
            "Put": {
                "TableName": settings.impressions_table,
                "Item": _impression_item(charge),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        },
        _ledger_update(charge),
        _campaign_check(charge),
        {
            "Update": {
                "TableName": settings.campaigns_table,
                "Key": {"PK": _s(f"TENANT#{charge.advertiser_tenant_id}"), "SK": _s("ADVERTISER")},
                "UpdateExpression": "ADD balance_millicents :debit, spent_millicents :charge",
                "ConditionExpression": "balance_millicents >= :charge",
                "ExpressionAttributeValues": {
                    ":debit": _n(-charge.charged_millicents),
                    ":charge": _n(charge.charged_millicents),
                },
            }
        },
        {
            "Update": {
                "TableName": settings.campaigns_table,
                "Key": {"PK": _s(f"GAME#{charge.game_id}"), "SK": _s("EARNINGS")},
                "UpdateExpression": "ADD earned_millicents :share, platform_take_millicents :take, impressions :one "
                "SET creator_id = :creator, tenant_id = :tenant",
                "ExpressionAttributeValues": {
                    ":share": _n(charge.developer_share_millicents),
                    ":take": _n(charge.platform_take_millicents),
                    ":one": _n(1),
                    ":creator": _s(charge.creator_id),
                    ":tenant": _s(charge.developer_tenant_id),
                },
            }
        },
    ]
    try:
        aws.dynamodb_client().transact_write_items(TransactItems=items)
    except ClientError as error:
        reasons = cancellation_reasons(error)
        if not reasons:
            raise
        if reasons[0] == "ConditionalCheckFailed":
            raise ImpressionAlreadyRecorded(charge.impression_id) from error
        # An inactive campaign (or a cap changed meanwhile) is the most basic refusal: report it before the ledger.
        if reasons[2] == "ConditionalCheckFailed":
            raise ChargeRefused("campaign") from error
        if reasons[1] == "ConditionalCheckFailed":
            raise ChargeRefused("ledger") from error
        if reasons[3] == "ConditionalCheckFailed":
            raise ChargeRefused("balance") from error
        if "TransactionConflict" in reasons:
            raise TransactionContended(charge.impression_id) from error
        raise


def roll_spend_day(campaign_id: str, today: str) -> bool:
    """Start today's daily counter if the ledger still counts an earlier day (the pacing job does this at
    midnight; billing does it too so a late job never blocks spend). Returns whether it rolled."""
    try:
        aws.campaigns_table().update_item(
            Key={"PK": f"CAMPAIGN#{campaign_id}", "SK": "LEDGER"},
            UpdateExpression="SET spend_day = :today, day_spent_millicents = :zero",
            ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(spend_day) OR spend_day < :today)",
            ExpressionAttributeValues={":today": today, ":zero": 0},
        )
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


@dataclass(frozen=True, slots=True)
class LoadedCampaign:
    """A campaign as billing reads it: what it prices with, its money counters, and the stored item."""

    campaign: BillingCampaignView
    ledger: BillingLedgerView
    item: dict[str, Any]

    def rules(self) -> ServingCampaign:
        """Its serving rules, which an impression without a match token is re-checked against (built on
        demand: a token's impression never needs them)."""
        return ServingCampaign.from_items(self.item, None)


def get_campaign(campaign_id: str) -> LoadedCampaign | None:
    """The campaign and its ledger from one strongly consistent Query on the campaign's partition."""
    items = page_all(
        aws.campaigns_table().query,
        KeyConditionExpression=Key("PK").eq(f"CAMPAIGN#{campaign_id}"),
        ConsistentRead=True,
    )
    by_sort_key = {item["SK"]: item for item in items}
    campaign, ledger = by_sort_key.get("CAMPAIGN"), by_sort_key.get("LEDGER")
    if campaign is None or ledger is None:
        return None
    view = BillingCampaignView(
        tenant_id=campaign["tenant_id"],
        id=campaign["id"],
        advertiser_id=campaign["advertiser_id"],
        status=campaign["status"],
        cpm_bid_cents=int(campaign["cpm_bid_cents"]),
        daily_cap_millicents=campaign.get("daily_cap_millicents"),
        creative_ids=frozenset(campaign.get("creatives", {})),
    )
    return LoadedCampaign(view, BillingLedgerView.model_validate(ledger), campaign)


def get_impression(impression_id: str) -> dict | None:
    return (
        aws.dynamodb_resource()
        .Table(get_settings().impressions_table)
        .get_item(Key={"PK": f"IMP#{impression_id}", "SK": "IMP"})
        .get("Item")
    )
