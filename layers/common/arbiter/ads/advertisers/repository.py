"""Advertiser items: PK=TENANT#<tenant>, SK=ADVERTISER. The balance is an integer millicent counter."""

from typing import Any

from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.advertisers.models import AdvertiserItem
from arbiter.dynamo import is_condition_failure
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


def add_funds(tenant_id: str, amount_millicents: int) -> AdvertiserItem:
    try:
        item = aws.campaigns_table().update_item(
            Key=advertiser_key(tenant_id),
            UpdateExpression="ADD balance_millicents :amount, deposited_millicents :amount",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":amount": amount_millicents},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if is_condition_failure(error):
            raise NotFoundError("Advertiser not registered; call POST /api/ads/register first") from error
        raise
    return AdvertiserItem.model_validate(item)
