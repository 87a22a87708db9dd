"""Reads of the rollups (keys.py) and of the ledger-side items the reports combine them with."""

from typing import Any

from boto3.dynamodb.conditions import Key

from arbiter import aws
from arbiter.ads.reporting import keys
from arbiter.dynamo import page_all
from arbiter.settings import get_settings


def _impressions_table():
    return aws.dynamodb_resource().Table(get_settings().impressions_table)


def campaign_items(campaign_id: str) -> dict[str, dict[str, Any]]:
    """The CAMPAIGN and LEDGER items as stored (pacing reads fields the models do not carry), by sort key."""
    items = page_all(
        aws.campaigns_table().query,
        KeyConditionExpression=Key("PK").eq(f"CAMPAIGN#{campaign_id}"),
        ConsistentRead=True,
    )
    return {item["SK"]: item for item in items}


def campaign_counters(campaign_id: str, prefix: str | None = None) -> list[dict[str, Any]]:
    condition = Key("PK").eq(keys.campaign_counters_pk(campaign_id))
    if prefix:
        condition &= Key("SK").begins_with(prefix)
    return page_all(_impressions_table().query, KeyConditionExpression=condition)


def campaign_days(campaign_id: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
    return page_all(
        _impressions_table().query,
        KeyConditionExpression=Key("PK").eq(keys.campaign_counters_pk(campaign_id))
        & Key("SK").between(keys.DAY + first_day, keys.DAY + last_day),
    )


def unique_user_estimates(campaign_id: str, prefix: str, first: str | None = None, last: str | None = None) -> dict:
    """Sort key -> estimated distinct users, for the sketches under `prefix` (or one range of days)."""
    condition = Key("PK").eq(keys.campaign_sketches_pk(campaign_id))
    if first is not None and last is not None:
        condition &= Key("SK").between(prefix + first, prefix + last)
    else:
        condition &= Key("SK").begins_with(prefix)
    # The writer stores each sketch's estimate beside its registers; the projection skips decoding them here.
    items = page_all(
        _impressions_table().query,
        KeyConditionExpression=condition,
        ProjectionExpression="SK, estimate",
    )
    return {item["SK"]: int(item.get("estimate", 0)) for item in items}


def game_counters(game_id: str, prefix: str, first: str | None = None, last: str | None = None) -> list[dict]:
    condition = Key("PK").eq(keys.game_counters_pk(game_id))
    if first is not None and last is not None:
        condition &= Key("SK").between(prefix + first, prefix + last)
    else:
        condition &= Key("SK").begins_with(prefix)
    return page_all(_impressions_table().query, KeyConditionExpression=condition)


def game_earnings(game_ids: list[str]) -> dict[str, dict[str, Any]]:
    """GAME#<id>/EARNINGS items written by billing (exact developer shares), by game id."""
    found: dict[str, dict[str, Any]] = {}
    table_name = get_settings().campaigns_table
    resource = aws.dynamodb_resource()
    for start in range(0, len(game_ids), 100):  # BatchGetItem takes at most 100 keys
        request = {table_name: {"Keys": [{"PK": f"GAME#{g}", "SK": "EARNINGS"} for g in game_ids[start : start + 100]]}}
        while request:
            answer = resource.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table_name, []):
                found[item["PK"].removeprefix("GAME#")] = item
            request = answer.get("UnprocessedKeys") or {}
    return found


def game_earning(game_id: str) -> dict[str, Any]:
    return aws.campaigns_table().get_item(Key={"PK": f"GAME#{game_id}", "SK": "EARNINGS"}).get("Item") or {}
