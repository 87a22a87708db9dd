"""Advertiser items: PK=TENANT#<tenant>, SK=ADVERTISER. The balance is an integer millicent counter.
Deposit receipts (deposits sent with an Idempotency-Key): PK=TENANT#<tenant>, SK=DEPOSIT#<receipt id>."""

from typing import Any

from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.advertisers.models import AdvertiserItem, DepositReceiptItem
from arbiter.dynamo import cancellation_reasons, is_condition_failure
from arbiter.dynamo.expressions import UpdateExpression
from arbiter.errors import ConflictError, NotFoundError

SK = "ADVERTISER"


def advertiser_key(tenant_id: str) -> dict[str, str]:
    return {"PK": f"TENANT#{tenant_id}", "SK": SK}


def create(item: AdvertiserItem) -> None:
    try:
        aws.campaigns_table().put_item(
            Item={**advertiser_key(item.tenant_id), **item.model_dump(exclude_none=True)},
            ConditionExpression="attribute_not_exists(PK)",
        )
    except ClientError as error:
        if is_condition_failure(error):
            raise ConflictError("This account is already registered as an advertiser") from error
        raise


def get(tenant_id: str) -> AdvertiserItem | None:
    item = aws.campaigns_table().get_item(Key=advertiser_key(tenant_id)).get("Item")
    return AdvertiserItem.model_validate(item) if item else None


def update_fields(tenant_id: str, fields: dict[str, Any]) -> AdvertiserItem:
    update = UpdateExpression().set_fields(fields)
    try:
        item = aws.campaigns_table().update_item(
            Key=advertiser_key(tenant_id),
            UpdateExpression=update.expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if is_condition_failure(error):
            raise NotFoundError("Advertiser not registered; call POST /api/ads/register first") from error
        raise
    return AdvertiserItem.model_validate(item)


# The most one balance holds, $1,000,000,000.00: 15 significant digits of cents, so the JSON number every
# response carries is exact (a float renders any 15-digit decimal exactly; a 16th digit can round).
MAX_BALANCE_MILLICENTS = 10**14
NOT_REGISTERED = "Advertiser not registered; call POST /api/ads/register first"
BALANCE_CEILING = "Deposit would take the balance above 1,000,000,000.00 USD, the most one account holds"


def deposit_receipt_key(tenant_id: str, receipt_id: str) -> dict[str, str]:
    return {"PK": f"TENANT#{tenant_id}", "SK": f"DEPOSIT#{receipt_id}"}


def _funds_update(tenant_id: str, amount_millicents: int) -> dict[str, Any]:
    """The advertiser's balance += amount, only for a registered advertiser and under the ceiling."""
    return {
        "Key": advertiser_key(tenant_id),
        "UpdateExpression": "ADD balance_millicents :amount, deposited_millicents :amount",
        "ConditionExpression": "attribute_exists(PK) AND balance_millicents <= :room",
        "ExpressionAttributeValues": {
            ":amount": amount_millicents,
            ":room": MAX_BALANCE_MILLICENTS - amount_millicents,
        },
    }


def _refusal(tenant_id: str) -> ConflictError | NotFoundError:
    """Why a funds update's condition failed, from a fresh read (only on that path)."""
    return ConflictError(BALANCE_CEILING) if get(tenant_id) is not None else NotFoundError(NOT_REGISTERED)


def add_funds(tenant_id: str, amount_millicents: int) -> AdvertiserItem:
    try:
        item = aws.campaigns_table().update_item(**_funds_update(tenant_id, amount_millicents), ReturnValues="ALL_NEW")
    except ClientError as error:
        if is_condition_failure(error):
            raise _refusal(tenant_id) from error
        raise
    return AdvertiserItem.model_validate(item["Attributes"])


def add_funds_once(receipt: DepositReceiptItem) -> DepositReceiptItem:
    """Credits the receipt's amount and writes the receipt in one transaction, unless a receipt with its id
    exists: then nothing is credited and the stored receipt is returned (a retried deposit)."""
    table = aws.campaigns_table().name
    update = _funds_update(receipt.tenant_id, receipt.amount_millicents)
    try:
        aws.dynamodb_resource().meta.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**deposit_receipt_key(receipt.tenant_id, receipt.id), **receipt.model_dump()},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {"Update": {"TableName": table, **update}},
            ]
        )
    except ClientError as error:
        reasons = cancellation_reasons(error)
        if reasons[:1] == ["ConditionalCheckFailed"]:
            stored = aws.campaigns_table().get_item(
                Key=deposit_receipt_key(receipt.tenant_id, receipt.id), ConsistentRead=True
            )
            return DepositReceiptItem.model_validate(stored["Item"])
        if reasons[1:2] == ["ConditionalCheckFailed"]:
            raise _refusal(receipt.tenant_id) from error
        raise
    return receipt
