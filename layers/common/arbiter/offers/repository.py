"""DynamoDB access for game offers (key design: docs/decisions.md, "Game offers catalog").

Campaigns table - one partition per game, so one Query reads a game's owner and its whole catalog:
  game claim (owner)   PK=OFFERGAME#<game_id>  SK=GAME               tenant_id, created_at, offer_count
  offer                PK=OFFERGAME#<game_id>  SK=OFFER#<offer_id>   tenant_id, body (JSON), rev
Interactions table (the learner's model and recommendation log are arbiter.learning.store's):
  player purchases     PK=OFFERBUYS#<game_id>#<player_id>  SK=COUNTS  `p:<offer_id>` matched conversions,
                       `u:<offer_id>` when an unmatched one was reported (its first report's time; counts as one
                       purchase), revenue_millicents (no TTL: "at most one purchase" holds for ever)
"""

from dataclasses import dataclass

from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.dynamo import is_condition_failure, page_all, quota, transactions
from arbiter.errors import BusinessRuleError, ConflictError, ForbiddenError, NotFoundError
from arbiter.offers.models import GameOfferItem
from arbiter.settings import get_settings

CLAIM_SK = "GAME"
OFFER_PREFIX = "OFFER#"
# Every /v2/recommend reads and featurizes the game's whole catalog, in CPU linear in its size: ~12.7 ms p50 at 500
# offers, 2.1 ms at 50 (docs/benchmarks.md), and every offer grows the learner's model items. 500 keeps a
# recommend's ranking well inside its latency budget; a catalog of one offer per player would time it out.
MAX_OFFERS_PER_GAME = 500
# The game's offer count (arbiter.dynamo.quota), kept on its claim item by every create and delete.
OFFER_COUNT = "offer_count"


def game_pk(game_id: str) -> str:
    return f"OFFERGAME#{game_id}"


def offer_sk(offer_id: str) -> str:
    return f"{OFFER_PREFIX}{offer_id}"


@dataclass(frozen=True, slots=True)
class StoredOffer:
    item: GameOfferItem
    rev: int


@dataclass(frozen=True, slots=True)
class GameCatalog:
    """A game's owner and every offer of it (any status)."""

    game_id: str
    tenant_id: str
    offers: tuple[GameOfferItem, ...]


def _body(item: GameOfferItem) -> str:
    return item.model_dump_json()


def _check_owner(game_id: str, owner: str | None, tenant_id: str) -> None:
    """The D4 rule for games: unknown 404, another tenant's 403."""
    if owner is None:
        raise NotFoundError(f"Game '{game_id}' not found")
    if owner != tenant_id:
        raise ForbiddenError(f"Game '{game_id}' belongs to another tenant")


def read_catalog(game_id: str) -> GameCatalog | None:
    """The game's claim and offers in one (paginated) Query; None for a game nobody has claimed."""
    items = page_all(
        aws.dynamodb_client().query,
        TableName=get_settings().campaigns_table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": game_pk(game_id)}},
        ConsistentRead=True,
    )
    owner = next((item["tenant_id"]["S"] for item in items if item["SK"]["S"] == CLAIM_SK), None)
    if owner is None:
        return None
    offers = tuple(
        GameOfferItem.model_validate_json(item["body"]["S"])
        for item in items
        if item["SK"]["S"].startswith(OFFER_PREFIX)
    )
    return GameCatalog(game_id, owner, offers)


def owned_catalog(game_id: str, tenant_id: str) -> GameCatalog:
    catalog = read_catalog(game_id)
    _check_owner(game_id, catalog.tenant_id if catalog else None, tenant_id)
    return catalog  # type: ignore[return-value]  # _check_owner raised for None


def create_offer(tenant_id: str, item: GameOfferItem) -> None:
    """Claim the game for the tenant (first offer) or confirm it is theirs, take one of its MAX_OFFERS_PER_GAME
    slots on the claim, and add the offer: one transaction, so concurrent creates never pass the cap."""
    table = get_settings().campaigns_table
    claim = {
        "TableName": table,
        "Key": {"PK": {"S": game_pk(item.game_id)}, "SK": {"S": CLAIM_SK}},
        "UpdateExpression": "SET tenant_id = :tenant, created_at = if_not_exists(created_at, :now)",
        # The owner's later offers leave the claim as it was; another tenant's claim refuses.
        "ConditionExpression": "attribute_not_exists(PK) OR tenant_id = :tenant",
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}, ":now": {"S": item.created_at}},
        # The claim's condition covers the owner and the cap: the claim as it was says which one refused.
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    put = {
        "TableName": table,
        "Item": {
            "PK": {"S": game_pk(item.game_id)},
            "SK": {"S": offer_sk(item.offer_id)},
            "tenant_id": {"S": tenant_id},
            "body": {"S": _body(item)},
            "rev": {"N": "1"},
        },
        "ConditionExpression": "attribute_not_exists(PK)",
    }
    try:
        transactions.transact(
            [
                ("claim", {"Update": quota.taking_slot(claim, MAX_OFFERS_PER_GAME, OFFER_COUNT)}),
                ("offer", {"Put": put}),
            ],
            contended=f"Game '{item.game_id}' was changed concurrently; retry",
        )
    except transactions.ConditionsFailed as refused:
        claim_refused = "claim" in refused.failed
        claim = _claim_at_failure(refused, item.game_id) if claim_refused else None
        if claim is not None and claim.get("tenant_id", {}).get("S") != tenant_id:
            raise ForbiddenError(f"Game '{item.game_id}' belongs to another tenant") from refused
        if "offer" in refused.failed:
            raise ConflictError(f"Offer '{item.offer_id}' already exists in game '{item.game_id}'") from refused
        if claim_refused and quota.counted(claim, OFFER_COUNT) >= MAX_OFFERS_PER_GAME:
            raise BusinessRuleError(
                f"A game can have at most {MAX_OFFERS_PER_GAME} offers; delete one first"
            ) from refused
        raise ConflictError(f"Game '{item.game_id}' was changed concurrently; retry") from refused


def _claim_at_failure(refused: transactions.ConditionsFailed, game_id: str) -> dict | None:
    """The claim item as the refused transaction saw it (ALL_OLD); read again only if the reply lacks it."""
    if "claim" in refused.old_items:
        return refused.old_items["claim"]
    return (
        aws.dynamodb_client()
        .get_item(
            TableName=get_settings().campaigns_table,
            Key={"PK": {"S": game_pk(game_id)}, "SK": {"S": CLAIM_SK}},
            ConsistentRead=True,
        )
        .get("Item")
    )


def offer_exists(game_id: str, offer_id: str) -> bool:
    """Whether the game's catalog has the offer now (any status): one consistent GetItem of its key."""
    item = aws.campaigns_table().get_item(
        Key={"PK": game_pk(game_id), "SK": offer_sk(offer_id)}, ConsistentRead=True, ProjectionExpression="PK"
    )
    return "Item" in item


def get_offer(game_id: str, tenant_id: str, offer_id: str) -> StoredOffer:
    """404 for an unknown game or offer, 403 for another tenant's game (the game is checked first)."""
    table = aws.campaigns_table()
    claim = table.get_item(Key={"PK": game_pk(game_id), "SK": CLAIM_SK}, ConsistentRead=True).get("Item")
    _check_owner(game_id, claim["tenant_id"] if claim else None, tenant_id)
    item = table.get_item(Key={"PK": game_pk(game_id), "SK": offer_sk(offer_id)}, ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError(f"Offer '{offer_id}' not found in game '{game_id}'")
    return StoredOffer(GameOfferItem.model_validate_json(item["body"]), int(item["rev"]))


def replace_offer(stored: StoredOffer, tenant_id: str, item: GameOfferItem) -> None:
    """Write the new body if nobody changed or deleted the offer since it was read (rev)."""
    try:
        aws.campaigns_table().update_item(
            Key={"PK": game_pk(item.game_id), "SK": offer_sk(item.offer_id)},
            UpdateExpression="SET body = :body, rev = :next",
            ConditionExpression="tenant_id = :tenant AND rev = :rev",
            ExpressionAttributeValues={
                ":body": _body(item),
                ":next": stored.rev + 1,
                ":rev": stored.rev,
                ":tenant": tenant_id,
            },
        )
    except ClientError as error:
        if is_condition_failure(error):
            raise ConflictError(f"Offer '{item.offer_id}' was changed or deleted concurrently; retry") from error
        raise


def delete_offer(game_id: str, tenant_id: str, offer_id: str) -> None:
    """Delete the offer and give its slot back on the claim, in one transaction."""
    get_offer(game_id, tenant_id, offer_id)  # 404 / 403 first
    table = get_settings().campaigns_table
    claim = {"TableName": table, "Key": {"PK": {"S": game_pk(game_id)}, "SK": {"S": CLAIM_SK}}}
    delete = {
        "TableName": table,
        "Key": {"PK": {"S": game_pk(game_id)}, "SK": {"S": offer_sk(offer_id)}},
        "ConditionExpression": "tenant_id = :tenant",
        "ExpressionAttributeValues": {":tenant": {"S": tenant_id}},
    }
    try:
        transactions.transact(
            [("offer", {"Delete": delete}), ("count", {"Update": quota.freeing_slot(claim, OFFER_COUNT)})],
            contended=f"Game '{game_id}' was changed concurrently; retry",
        )
    except transactions.ConditionsFailed as refused:  # only the offer has a condition
        raise NotFoundError(f"Offer '{offer_id}' not found in game '{game_id}'") from refused


# --- Per-player purchases (interactions table) ---------------------------------------------------------------


def _purchases_key(game_id: str, player_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"OFFERBUYS#{game_id}#{player_id}"}, "SK": {"S": "COUNTS"}}


def player_purchases(game_id: str, player_id: str) -> dict[str, int]:
    """offer_id -> conversions the player was credited with (one GetItem): the matched ones (`p:`) plus one when an
    unmatched conversion was reported (`u:`)."""
    item = (
        aws.dynamodb_client()
        .get_item(TableName=get_settings().interactions_table, Key=_purchases_key(game_id, player_id))
        .get("Item")
    )
    if not item:
        return {}
    counts = {name[2:]: int(value["N"]) for name, value in item.items() if name.startswith("p:")}
    for name in item:
        if name.startswith("u:"):
            counts[name[2:]] = counts.get(name[2:], 0) + 1
    return counts


def purchase_update(game_id: str, player_id: str, offer_id: str, revenue_millicents: int) -> dict:
    """One conversion counted toward the player's purchases, as a TransactWriteItems entry: feedback writes it in
    the learner's exactly-once transaction (store.report_outcome), so a retried report never counts it twice and a
    recorded conversion is never left uncounted."""
    return {
        "Update": {
            "TableName": get_settings().interactions_table,
            "Key": _purchases_key(game_id, player_id),
            "UpdateExpression": "ADD #offer :one, revenue_millicents :revenue SET updated_at = :now",
            "ExpressionAttributeNames": {"#offer": f"p:{offer_id}"},
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":revenue": {"N": str(revenue_millicents)},
                ":now": {"S": clock.now_iso()},
            },
        }
    }


def count_unmatched_purchase(game_id: str, player_id: str, offer_id: str, revenue_millicents: int) -> bool:
    """A conversion the learner could not match to a recommendation (never shown to the player, or its log expired),
    counted toward the player's purchases of the offer at most once, however often it is reported: one conditional
    UpdateItem sets the `u:<offer_id>` marker only where it is absent and adds the revenue with it (all or
    nothing). False when the marker was already there (a retry, a concurrent double report, or another purchase
    outside a recommendation that cannot be told from a retry): nothing is written, which is not an error."""
    try:
        aws.dynamodb_client().update_item(
            TableName=get_settings().interactions_table,
            Key=_purchases_key(game_id, player_id),
            UpdateExpression="SET #marker = :now, updated_at = :now ADD revenue_millicents :revenue",
            ConditionExpression="attribute_not_exists(#marker)",
            ExpressionAttributeNames={"#marker": f"u:{offer_id}"},
            ExpressionAttributeValues={":now": {"S": clock.now_iso()}, ":revenue": {"N": str(revenue_millicents)}},
        )
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise
    return True
