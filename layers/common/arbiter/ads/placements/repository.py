"""Placement items: PK=GAME#<game_id>, SK=PLACEMENT, GSI1PK=TENANT#<tenant>#PLACEMENTS, GSI1SK=<game_id>.

A game id is global (one item per game), so every write carries the caller's tenant in its condition. A
failed condition is explained from the item as it was (returned with the failure): absent -> 404, another
tenant's -> 403.
"""

from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.ads.placements.models import PlacementItem
from arbiter.ads.serving import invalidation
from arbiter.dynamo import is_condition_failure, page_all
from arbiter.dynamo.expressions import UpdateExpression
from arbiter.errors import ConflictError, ForbiddenError, NotFoundError

SK = "PLACEMENT"
GSI1 = "GSI1"
_deserializer = TypeDeserializer()


def placement_key(game_id: str) -> dict[str, str]:
    return {"PK": f"GAME#{game_id}", "SK": SK}


def tenant_placements_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#PLACEMENTS"


def not_found(game_id: str) -> NotFoundError:
    return NotFoundError(f"Placement for game '{game_id}' not found")


def forbidden(game_id: str) -> ForbiddenError:
    return ForbiddenError(f"Game '{game_id}' is registered by another account")


def get(game_id: str, *, consistent: bool = False) -> PlacementItem | None:
    item = aws.campaigns_table().get_item(Key=placement_key(game_id), ConsistentRead=consistent).get("Item")
    return PlacementItem.model_validate(item) if item else None


def list_for_tenant(tenant_id: str) -> list[PlacementItem]:
    items = page_all(
        aws.campaigns_table().query,
        IndexName=GSI1,
        KeyConditionExpression=Key("GSI1PK").eq(tenant_placements_pk(tenant_id)),
    )
    return [PlacementItem.model_validate(item) for item in items]


def _item_at_failure(error: ClientError, game_id: str) -> PlacementItem | None:
    """The item as the failed condition saw it; re-read only if the endpoint did not return it."""
    raw = error.response.get("Item")
    if raw:
        return PlacementItem.model_validate({name: _deserializer.deserialize(value) for name, value in raw.items()})
    return get(game_id, consistent=True)


def enable(item: PlacementItem) -> PlacementItem:
    """Create the placement, or re-enable the caller's disabled one with the new configuration.

    One conditional UpdateItem (an upsert) so a re-enable keeps the original created_at atomically.
    """
    fields = item.model_dump(exclude={"created_at"})
    fields |= {"GSI1PK": tenant_placements_pk(item.tenant_id), "GSI1SK": item.game_id}
    update = UpdateExpression(
        names={"#PK": "PK", "#tenant_id": "tenant_id", "#is_active": "is_active", "#created_at": "created_at"},
        values={":caller": item.tenant_id, ":disabled": False, ":created_at": item.created_at},
        assignments=["#created_at = if_not_exists(#created_at, :created_at)"],
    ).set_fields(fields)
    try:
        stored = aws.campaigns_table().update_item(
            Key=placement_key(item.game_id),
            UpdateExpression=update.expression,
            ConditionExpression="attribute_not_exists(#PK) OR (#tenant_id = :caller AND #is_active = :disabled)",
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )["Attributes"]
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        existing = _item_at_failure(error, item.game_id)
        if existing is not None and existing.tenant_id != item.tenant_id:
            raise forbidden(item.game_id) from error
        raise ConflictError(f"Placements are already enabled for game '{item.game_id}'") from error
    invalidation.changed()
    return PlacementItem.model_validate(stored)


def update_fields(tenant_id: str, game_id: str, fields: dict[str, Any]) -> PlacementItem:
    """SET the given attributes on the caller's placement (enabled or not)."""
    update = UpdateExpression(names={"#PK": "PK", "#tenant_id": "tenant_id"}, values={":caller": tenant_id})
    update.set_fields(fields)
    try:
        stored = aws.campaigns_table().update_item(
            Key=placement_key(game_id),
            UpdateExpression=update.expression,
            ConditionExpression="attribute_exists(#PK) AND #tenant_id = :caller",
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=update.values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )["Attributes"]
    except ClientError as error:
        if not is_condition_failure(error):
            raise
        existing = _item_at_failure(error, game_id)
        if existing is None:
            raise not_found(game_id) from error
        if existing.tenant_id != tenant_id:
            raise forbidden(game_id) from error
        # Items are never deleted and never change tenant, so this is unreachable barring a bug.
        raise ConflictError(f"Placement for game '{game_id}' changed during the update; retry") from error
    invalidation.changed()
    return PlacementItem.model_validate(stored)
