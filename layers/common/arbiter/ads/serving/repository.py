"""The DynamoDB calls ad serving makes: the serving snapshot (refresh only) and the per-match session item (read,
and counted when an ad is served)."""

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.ads.advertisers.repository import advertiser_key
from arbiter.ads.campaigns.repository import SERVING, ledger_key
from arbiter.ads.identity import length_prefixed
from arbiter.dynamo import is_condition_failure, page_all
from arbiter.settings import get_settings

SERVING_INDEX = "GSI2"
BATCH_GET_LIMIT = 100  # DynamoDB's BatchGetItem maximum keys per call
SESSION_SK = "ADS"
USES_PREFIX = "uses#"
SESSION_TTL = timedelta(days=2)


def active_campaign_items() -> list[dict[str, Any]]:
    """Every active campaign item: the campaign logic keeps GSI2PK=SERVING on them only while active."""
    return page_all(
        aws.campaigns_table().query,
        IndexName=SERVING_INDEX,
        KeyConditionExpression=Key("GSI2PK").eq(SERVING),
    )


def _batch_get(table_name: str, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    """BatchGetItem in chunks of 100, retrying unprocessed keys (throttled partitions) until all are read."""
    resource = aws.dynamodb_resource()
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        pending: Mapping[str, Any] = {table_name: {"Keys": keys[start : start + BATCH_GET_LIMIT]}}
        while pending:
            response = resource.batch_get_item(RequestItems=pending)
            found += response.get("Responses", {}).get(table_name, [])
            pending = response.get("UnprocessedKeys") or {}
    return found


def ledger_items(campaign_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """campaign id -> its LEDGER item (LEDGER items are not in the SERVING index)."""
    keys = [ledger_key(campaign_id) for campaign_id in dict.fromkeys(campaign_ids)]
    items = _batch_get(get_settings().campaigns_table, keys)
    return {str(item["campaign_id"]): item for item in items}


def advertiser_balances(tenant_ids: Iterable[str]) -> dict[str, int]:
    """advertiser id -> balance in millicents, for the advertisers of these tenants."""
    keys = [advertiser_key(tenant_id) for tenant_id in dict.fromkeys(tenant_ids)]
    items = _batch_get(get_settings().campaigns_table, keys)
    return {str(item["id"]): int(item.get("balance_millicents", 0)) for item in items}


def session_key(game_id: str, session_id: str, user_id: str) -> dict[str, str]:
    """One player's session in one game. The ids are free-form ('#' included), so they are length-prefixed, not
    joined by a separator: session "s#1" of player "alice" and session "s" of player "1#alice" are two items."""
    return {"PK": "SESSION#" + length_prefixed(game_id, session_id, user_id), "SK": SESSION_SK}


def session_counters(game_id: str, session_id: str, user_id: str) -> tuple[int, dict[str, int]]:
    """(ads served, creative id -> uses) in this player's session; zeros when nothing was served yet.

    Strongly consistent: the ad served a moment ago must count toward the session cap and hook rotation of the
    very next match."""
    table = aws.dynamodb_resource().Table(get_settings().interactions_table)
    item = table.get_item(Key=session_key(game_id, session_id, user_id), ConsistentRead=True).get("Item") or {}
    uses = {name[len(USES_PREFIX) :]: int(value) for name, value in item.items() if name.startswith(USES_PREFIX)}
    return int(item.get("ads_shown", 0)), uses


def count_served(game_id: str, session_id: str, user_id: str, creative_id: str, *, max_ads: int, max_uses: int) -> bool:
    """One ad (and one use of its creative) served in the session: what max_ads_per_session, max_uses_per_game
    and hook rotation count. Conditioned on both staying within their caps, so two concurrent matches that read
    the same counts cannot both take the session's last slot; False when that happened (nothing written). Kept
    SESSION_TTL after the session's last ad."""
    expires_at = int((clock.now() + SESSION_TTL).timestamp())
    try:
        aws.dynamodb_client().update_item(
            TableName=get_settings().interactions_table,
            Key={name: {"S": value} for name, value in session_key(game_id, session_id, user_id).items()},
            UpdateExpression="ADD ads_shown :one, #uses :one SET expires_at = :ttl",
            ConditionExpression="(attribute_not_exists(ads_shown) OR ads_shown < :max_ads) "
            "AND (attribute_not_exists(#uses) OR #uses < :max_uses)",
            ExpressionAttributeNames={"#uses": f"{USES_PREFIX}{creative_id}"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":ttl": {"N": str(expires_at)},
                ":max_ads": {"N": str(max_ads)},
                ":max_uses": {"N": str(max_uses)},
            },
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True
