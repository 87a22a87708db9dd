"""The offers learner's state in DynamoDB (interactions table) and the recommendation log it learns from.

Items (interactions table, PK/SK):
- model:  `OFFERMODEL#<game_id>` / group. A feature lives in the item of its group: `S` (bias, ln price, gap
  match, context main effects), `O#<offer_id>` (the offer's intercept, its gap match and every context x offer
  cross), `P#<price band>` and `G#<grant>` (their main effects and context crosses). Each feature has two number
  attributes, `q:<name>` and `e:<name>` - precision and eta added since the prior (a missing one is the prior)
  - and each item counts its `updates`. No `expires_at`: model items never expire. An offer's `O#` item is named
  after its id (clipped: features.offer_descriptor), so it outlives the offer: a deleted offer's item is removed by
  prune_offer_weights, which the offers package's maintenance (arbiter.offers.maintenance) runs after each expiry
  sweep for the games the sweep visited, with the game's catalog (docs/decisions.md D12, "Deleted offers").
- recommendation log: `OFFERRECS#<game_id>#<player_id>` / `REC#<shown_at>#<interaction_id>`, one item per
  recommendation: the context features, the shown offers as they were (price, the grants the model learns from -
  OfferFeatures.learnt_grants, at most 4 - so the item stays small whatever an offer grants, gap match flag `gap` and
  count `gap_count`, rank) and an `outcomes` map filled by feedback and expiry. `expires_at` = shown + 30 days (TTL).
  It also carries the keys of the expiry sweep's index (GSI1, sparse: no other item of the table has them),
  written in the same PutItem: `GSI1PK` = `OFFERDUE#<UTC hour its exposures become overdue>#<shard>` (due_partition;
  the shard is a stable hash of game and player, so one hour's recommendations spread over DUE_SHARDS index
  partitions) and `GSI1SK` = `<shown_at>#<game_id>#<player_id>#<interaction_id>` (unique, in showing order).
  The sweep (arbiter.learning.sweep) reads the index hour by hour and calls expire_overdue for each player.

No lost updates: one outcome is one TransactWriteItems - the log item's `outcomes.<offer>` is set under a
condition (a first outcome, or `converted` over `expired` or `dismissed`), which makes a retried report a no-op, and the
model items get `ADD` of the update's natural-parameter deltas. ADD commutes, so concurrent feedback is
summed, never overwritten; a transaction that collides with another is retried. A delta is computed from the
cached model (at most MODEL_CACHE_TTL_SECONDS old): concurrent updates are all kept, each computed from a
slightly older posterior (the usual bounded-staleness approximation of asynchronous learners).

Reads: `load_model` keeps each game's model in memory for MODEL_CACHE_TTL_SECONDS (5 s) and adds this
instance's own updates to it as it writes them, so a warm recommend reads nothing from DynamoDB for the model;
a refresh is one Query (paginated past 1 MB). At most MAX_CACHED_MODELS models are kept, least recently used
evicted first (the expiry sweep touches every game with overdue exposures).
"""

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.bounded_cache import BoundedCache
from arbiter.dynamo import cancellation_reasons, is_condition_failure, page_all
from arbiter.errors import ServiceBusyError
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, HISTORY_WINDOW, Exposure, allowed_transition, overdue
from arbiter.learning.features import OfferFeatures, offer_descriptor
from arbiter.learning.model import FeatureStats, ModelState, outcome_converted, posterior_update
from arbiter.settings import get_settings

MODEL_CACHE_TTL_SECONDS = 5.0
# A model in memory is ~140 KB for a game of 20 offers (~450 features, with its memoised moments) and ~450 KB for
# 100 offers (~1,500): 256 models stay near 100 MB of the functions' 512 MB. Eviction costs one Query.
MAX_CACHED_MODELS = 256
# ...and at most this many features across them (~300 bytes each: ~120 MB). A game whose integration sends a new
# segment on every request (a player id by mistake) grows its model towards 1,024 segment crosses per offer
# (features.STRING_BUCKETS): such a model is held alone rather than beside 255 others.
MAX_CACHED_FEATURES = 400_000
# A request reads at most the player's newest LOG_READ_LIMIT recommendations (D12): what /v2/recommend needs
# (24 h of impressions for the daily limits, the last 50 outcomes, recent purchases) for any player served less
# than every ~3 minutes, at a cost that does not grow with how often a player is served.
LOG_READ_LIMIT = 500
LOG_RETENTION = HISTORY_WINDOW  # the player history (exposure.player_history) looks back as far as the log keeps
# A transaction holds the log item plus at most 1 + 1 + 1 + MAX_GRANT_DESCRIPTORS model items (S, O#, P#, G#).
_MAX_TRANSACTION_ATTEMPTS = 8
_MAX_OUTCOME_RACES = 3
# The expiry sweep's index on the interactions table (template.yaml InteractionsTable, KEYS_ONLY).
DUE_INDEX = "GSI1"
DUE_SHARDS = 8  # index partitions per hour: a stable hash of (game, player) picks one


class FeedbackStatus:
    APPLIED = "applied"  # the outcome was recorded and the model updated
    DUPLICATE = "duplicate"  # that offer's outcome was already final (a retry): nothing changed
    UNMATCHED = "unmatched"  # the offer was never recommended to this player (or the log expired)


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    status: str
    interaction_id: str | None = None
    previous_outcome: str | None = None
    deltas: dict[str, FeatureStats] | None = None


class StoreContended(ServiceBusyError):
    """The model items stayed contended through every retry: nothing was recorded (503, the game retries)."""


def _table() -> str:
    return get_settings().interactions_table


def _model_pk(game_id: str) -> str:
    return f"OFFERMODEL#{game_id}"


def _log_pk(game_id: str, player_id: str) -> str:
    return f"OFFERRECS#{game_id}#{player_id}"


def log_owner(log_pk: str) -> tuple[str, str]:
    """(game_id, player_id) of a recommendation-log partition key (game ids hold no `#`)."""
    prefix, game_id, player_id = log_pk.split("#", 2)
    if prefix != "OFFERRECS":
        raise ValueError(f"not a recommendation-log key: {log_pk!r}")
    return game_id, player_id


def due_hour(moment: datetime) -> datetime:
    """The UTC hour `moment` falls in: the expiry sweep's unit of work."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def due_shard(game_id: str, player_id: str) -> int:
    """The player's shard of the expiry index: stable across processes (unlike hash()), uniform over DUE_SHARDS."""
    digest = hashlib.blake2b(f"{game_id}#{player_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % DUE_SHARDS


def due_partition(hour: datetime, shard: int) -> str:
    """The expiry index's partition key of one hour and shard, e.g. `OFFERDUE#2026-11-23T05#3`."""
    return f"OFFERDUE#{hour:%Y-%m-%dT%H}#{shard}"


def feature_group(name: str) -> str:
    """The model item a feature is stored in (its last descriptor decides)."""
    last = name.rsplit("|", 1)[-1]
    for prefix, group in (("o=", "O#"), ("pb=", "P#"), ("g=", "G#")):
        if last.startswith(prefix):
            return group + last[len(prefix) :]
    return "S"


def _number(value: float) -> dict[str, str]:
    # 12 significant digits: far inside DynamoDB's 38-digit precision and exponent range.
    return {"N": "0" if abs(value) < 1e-12 else f"{value:.12g}"}


# ---- model reads (cached) ----------------------------------------------------------------------------------


_cache: BoundedCache[str, ModelState] = BoundedCache(
    MAX_CACHED_MODELS,
    MODEL_CACHE_TTL_SECONDS,
    weigh=lambda state: len(state.stats),
    max_weight=MAX_CACHED_FEATURES,
)


def forget_models() -> None:
    """Drop every cached model (tests; a new instance starts this way)."""
    _cache.clear()


def forget_model(game_id: str) -> None:
    """Drop this instance's cached model of one game: its next load reads DynamoDB."""
    _cache.pop(game_id)


def read_model(game_id: str) -> ModelState:
    """The game's model straight from DynamoDB (one Query, paginated)."""
    items = page_all(
        aws.dynamodb_client().query,
        TableName=_table(),
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": _model_pk(game_id)}},
    )
    state = ModelState()
    for item in items:
        for attribute, value in item.items():
            if attribute.startswith("q:"):
                state.stats.setdefault(attribute[2:], FeatureStats()).precision_delta = float(value["N"])
            elif attribute.startswith("e:"):
                state.stats.setdefault(attribute[2:], FeatureStats()).eta_delta = float(value["N"])
    return state


def load_model(game_id: str, max_age_seconds: float = MODEL_CACHE_TTL_SECONDS) -> ModelState:
    """The game's model, from memory when it is younger than `max_age_seconds`."""
    return _cache.get_or_load(game_id, lambda: read_model(game_id), max_age=max_age_seconds)


def _add_to_cache(game_id: str, deltas: dict[str, FeatureStats]) -> None:
    """This instance's own update, added to its cached copy of the model (if it still holds one)."""
    _cache.mutate(game_id, lambda state: state.apply(deltas))


# ---- recommendation log --------------------------------------------------------------------------------------


def _offer_to_item(exposure: Exposure, rank: int) -> dict:
    return {
        "M": {
            "price": _number(exposure.offer.price_usd),
            "grants": {"L": [{"S": grant} for grant in exposure.offer.learnt_grants()]},
            "gap": {"BOOL": bool(exposure.gap_match)},
            "gap_count": {"N": str(int(exposure.gap_match))},
            "rank": {"N": str(rank)},
        }
    }


def _shown_at_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_recommendation(game_id: str, player_id: str, exposures: list[Exposure]) -> None:
    """Log one recommendation (its exposures share interaction id, context and time): one PutItem, which also
    indexes it for the expiry sweep under the hour its exposures become overdue."""
    if not exposures:
        return
    first = exposures[0]
    shown_at = _shown_at_key(first.shown_at)
    due = due_hour(first.shown_at + DEFAULT_EXPIRY_WINDOW)
    item = {
        "PK": {"S": _log_pk(game_id, player_id)},
        "SK": {"S": f"REC#{shown_at}#{first.interaction_id}"},
        "GSI1PK": {"S": due_partition(due, due_shard(game_id, player_id))},
        "GSI1SK": {"S": f"{shown_at}#{game_id}#{player_id}#{first.interaction_id}"},
        "interaction_id": {"S": first.interaction_id},
        "shown_at": {"S": shown_at},
        "context": {"L": [{"S": name} for name in first.context]},
        "offers": {"M": {e.offer.offer_id: _offer_to_item(e, rank) for rank, e in enumerate(exposures, start=1)}},
        "outcomes": {"M": {}},
        "expires_at": {"N": str(int((first.shown_at + LOG_RETENTION).timestamp()))},
    }
    aws.dynamodb_client().put_item(TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(PK)")


def _exposures_of(item: dict) -> list[Exposure]:
    shown_at = clock.parse_iso(item["shown_at"]["S"])
    context = tuple(value["S"] for value in item["context"]["L"])
    outcomes = {offer_id: value["S"] for offer_id, value in item.get("outcomes", {}).get("M", {}).items()}
    exposures = []
    for offer_id, value in item["offers"]["M"].items():
        offer = value["M"]
        exposures.append(
            Exposure(
                interaction_id=item["interaction_id"]["S"],
                offer=OfferFeatures(
                    offer_id=offer_id,
                    price_usd=float(offer["price"]["N"]),
                    grants=tuple(grant["S"] for grant in offer["grants"]["L"]),
                ),
                context=context,
                # Items logged before match counts were kept hold only the flag: it reads as a count of 0 or 1.
                gap_match=int(offer["gap_count"]["N"]) if "gap_count" in offer else int(offer["gap"]["BOOL"]),
                shown_at=shown_at,
                outcome=outcomes.get(offer_id),
            )
        )
    return exposures


def latest_exposure(
    game_id: str, player_id: str, offer_id: str, interaction_id: str | None = None
) -> tuple[Exposure, str] | None:
    """The player's most recent exposure to the offer (in that interaction, if given) and its log item's sort key,
    or None."""
    kwargs = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :rec)",
        "FilterExpression": "attribute_exists(offers.#offer)",
        "ExpressionAttributeNames": {"#offer": offer_id},
        "ExpressionAttributeValues": {":pk": {"S": _log_pk(game_id, player_id)}, ":rec": {"S": "REC#"}},
        "ScanIndexForward": False,
    }
    client = aws.dynamodb_client()
    evaluated = 0  # Limit and ScannedCount count the items read before the filter: what a read costs
    while evaluated < LOG_READ_LIMIT:
        page = client.query(**kwargs, Limit=LOG_READ_LIMIT - evaluated)
        evaluated += page.get("ScannedCount", 0)
        for item in page.get("Items", []):
            for exposure in _exposures_of(item):
                if exposure.offer.offer_id == offer_id and interaction_id in (None, exposure.interaction_id):
                    return exposure, item["SK"]["S"]
        if "LastEvaluatedKey" not in page:
            return None
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return None


@dataclass(frozen=True, slots=True)
class PlayerLog:
    """The newest recommendations of a player's log (at most LOG_READ_LIMIT), as exposures newest first with their
    log item's sort key, and whether older ones exist that were not read."""

    entries: list[tuple[Exposure, str]]
    truncated: bool

    def exposures(self) -> list[Exposure]:
        return [exposure for exposure, _ in self.entries]

    def covers(self, since: datetime) -> bool:
        """Whether every exposure shown after `since` is in `entries` (the read went back past it)."""
        if not self.truncated:
            return True
        return bool(self.entries) and self.entries[-1][0].shown_at <= since


def player_log(game_id: str, player_id: str) -> PlayerLog:
    """The player's newest LOG_READ_LIMIT recommendations: one Query (more pages only past 1 MB), whatever the
    player's history holds, so a request's cost does not grow with how often the player was served."""
    kwargs = {
        "TableName": _table(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :rec)",
        "ExpressionAttributeValues": {":pk": {"S": _log_pk(game_id, player_id)}, ":rec": {"S": "REC#"}},
        "ScanIndexForward": False,
    }
    client = aws.dynamodb_client()
    items: list[dict] = []
    while True:
        page = client.query(**kwargs, Limit=LOG_READ_LIMIT + 1 - len(items))
        items += page.get("Items", [])
        if len(items) > LOG_READ_LIMIT or "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    entries = [(exposure, item["SK"]["S"]) for item in items[:LOG_READ_LIMIT] for exposure in _exposures_of(item)]
    return PlayerLog(entries, truncated=len(items) > LOG_READ_LIMIT)


def player_exposures(game_id: str, player_id: str) -> list[tuple[Exposure, str]]:
    """The player's logged exposures of their newest LOG_READ_LIMIT recommendations (newest first) with their log
    item's sort key."""
    return player_log(game_id, player_id).entries


# ---- outcomes -> model updates ---------------------------------------------------------------------------


def _transaction(
    game_id: str, player_id: str, sort_key: str, exposure: Exposure, outcome: str, deltas: dict[str, FeatureStats]
) -> list[dict]:
    table = _table()
    condition = "attribute_not_exists(outcomes.#offer)"
    values: dict[str, dict] = {":outcome": {"S": outcome}}
    if exposure.outcome is not None:
        condition = "outcomes.#offer = :current"
        values[":current"] = {"S": exposure.outcome}
    items = [
        {
            "Update": {
                "TableName": table,
                "Key": {"PK": {"S": _log_pk(game_id, player_id)}, "SK": {"S": sort_key}},
                "UpdateExpression": "SET outcomes.#offer = :outcome",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#offer": exposure.offer.offer_id},
                "ExpressionAttributeValues": values,
            }
        }
    ]
    groups: dict[str, dict[str, FeatureStats]] = {}
    for name, delta in deltas.items():
        groups.setdefault(feature_group(name), {})[name] = delta
    for group, members in sorted(groups.items()):
        names: dict[str, str] = {}
        adds = ["updates :one"]
        group_values: dict[str, dict] = {":one": {"N": "1"}}
        for index, (name, delta) in enumerate(sorted(members.items())):
            names[f"#q{index}"], names[f"#e{index}"] = f"q:{name}", f"e:{name}"
            group_values[f":q{index}"] = _number(delta.precision_delta)
            group_values[f":e{index}"] = _number(delta.eta_delta)
            adds += [f"#q{index} :q{index}", f"#e{index} :e{index}"]
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": {"PK": {"S": _model_pk(game_id)}, "SK": {"S": group}},
                    "UpdateExpression": "ADD " + ", ".join(adds),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": group_values,
                }
            }
        )
    return items


def _resolve(
    game_id: str, player_id: str, exposure: Exposure, sort_key: str, outcome: str, also: Sequence[dict] = ()
) -> FeedbackResult | None:
    """Record `outcome` for the exposure and update the model, with the caller's `also` writes (TransactWriteItems
    entries) in the same transaction, or None when its outcome changed meanwhile."""
    deltas = posterior_update(load_model(game_id), exposure.features(), outcome_converted(outcome))
    items = [*_transaction(game_id, player_id, sort_key, exposure, outcome, deltas), *also]
    client = aws.dynamodb_client()
    for attempt in range(_MAX_TRANSACTION_ATTEMPTS):
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = cancellation_reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return None
            if "TransactionConflict" not in reasons and error.response["Error"]["Code"] != "TransactionConflict":
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter, not security
            continue
        _add_to_cache(game_id, deltas)
        return FeedbackResult(FeedbackStatus.APPLIED, exposure.interaction_id, exposure.outcome, deltas)
    raise StoreContended("The game's model is busy with other requests; nothing was recorded, retry shortly")


def report_outcome(
    game_id: str,
    player_id: str,
    offer_id: str,
    outcome: str,
    *,
    interaction_id: str | None = None,
    on_conversion: Sequence[dict] = (),
) -> FeedbackResult:
    """Apply a reported outcome to the player's most recent exposure to the offer (the one of `interaction_id`,
    when the game names it), exactly once. `on_conversion` (TransactWriteItems entries) is written in the same
    transaction when a conversion is recorded, so what it counts is counted exactly once too."""
    converted = outcome_converted(outcome)  # validates
    also = on_conversion if converted else ()
    for _ in range(_MAX_OUTCOME_RACES):
        found = latest_exposure(game_id, player_id, offer_id, interaction_id)
        if found is None:
            return FeedbackResult(FeedbackStatus.UNMATCHED)
        exposure, sort_key = found
        if not allowed_transition(exposure.outcome, outcome):
            return FeedbackResult(FeedbackStatus.DUPLICATE, exposure.interaction_id, exposure.outcome)
        result = _resolve(game_id, player_id, exposure, sort_key, outcome, also)
        if result is not None:
            return result
    # Outcomes kept changing under us: another report for the same exposure won; ours is the retry.
    return FeedbackResult(FeedbackStatus.DUPLICATE)


def expire_overdue(
    game_id: str,
    player_id: str,
    now: datetime | None = None,
    window: timedelta = DEFAULT_EXPIRY_WINDOW,
    logged: list[tuple[Exposure, str]] | None = None,
) -> int:
    """Resolve the player's exposures older than `window` that have no outcome as `expired`; returns how many.

    Called when a player is seen (/v2/recommend, from the log it already read) and, through
    expire_logged_recommendation, by the expiry sweep (arbiter.learning.sweep, every 15 minutes: D12). `logged` is
    the player's log as player_exposures just returned it (or one logged recommendation), so a caller that read it
    does not read it twice (a stale copy is safe: each expiry is a conditional write).
    """
    moment = now or clock.now()
    found = player_exposures(game_id, player_id) if logged is None else logged
    sort_keys = {(e.interaction_id, e.offer.offer_id): key for e, key in found}
    expired = 0
    for exposure in overdue([e for e, _ in found], moment, window):
        sort_key = sort_keys[(exposure.interaction_id, exposure.offer.offer_id)]
        if _resolve(game_id, player_id, exposure, sort_key, "expired"):
            expired += 1
    return expired


def expire_logged_recommendation(game_id: str, player_id: str, sort_key: str, now: datetime | None = None) -> int:
    """Resolve as `expired` the overdue exposures of one logged recommendation (its log item's sort key), however
    many newer recommendations the player has: the expiry sweep's unit of work (one consistent GetItem, then one
    transaction per overdue exposure, as expire_overdue). 0 when the item is gone (its 30-day TTL)."""
    item = (
        aws.dynamodb_client()
        .get_item(
            TableName=_table(),
            Key={"PK": {"S": _log_pk(game_id, player_id)}, "SK": {"S": sort_key}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if item is None:
        return 0
    return expire_overdue(game_id, player_id, now, logged=[(exposure, sort_key) for exposure in _exposures_of(item)])


# ---- deleted offers' weights ---------------------------------------------------------------------------------


def offer_group(offer_id: str) -> str:
    """The model item holding an offer's own weights (`O#<clipped id>`): its id weight, its gap match and every
    context x offer cross."""
    return feature_group(offer_descriptor(offer_id))


def prune_offer_weights(game_id: str, live_offer_ids: Callable[[], Iterable[str] | None]) -> int:
    """Delete the `O#` items of the game's model whose offer is not live; returns how many were deleted.

    One Query reads the keys and `updates` counters of the game's `O#` items (ProjectionExpression; paginated).
    Only when there are some is `live_offer_ids()` called: the ids of the offers the game has (the caller's
    catalog, any status), or None to prune nothing (e.g. a game nobody claims). It is read after the model's
    keys, so an offer created after that read cannot lose weights: it either had no item when the keys were read
    (never deleted), or its first outcome changed the item's `updates` since. Each item of an offer not live gets
    a DeleteItem conditioned on `updates` being what was read: an item a concurrent outcome just updated (a late
    outcome of the deleted offer, or an offer re-created under its id) is left for the next call. `S`, `P#` and
    `G#` items are shared by offers, never pruned. This instance's cached model of the game is dropped when
    something was deleted; other instances read the model again within MODEL_CACHE_TTL_SECONDS, and until then
    hold the deleted weights only in memory (an outcome writes ADD deltas, which never restore them).
    """
    client = aws.dynamodb_client()
    items = page_all(
        client.query,
        TableName=_table(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :offer)",
        ProjectionExpression="SK, #updates",
        ExpressionAttributeNames={"#updates": "updates"},
        ExpressionAttributeValues={":pk": {"S": _model_pk(game_id)}, ":offer": {"S": "O#"}},
    )
    if not items:
        return 0
    live = live_offer_ids()
    if live is None:
        return 0
    keep = {offer_group(offer_id) for offer_id in live}
    pruned = 0
    for item in items:
        group = item["SK"]["S"]
        if group in keep:
            continue
        if "updates" in item:
            condition, values = "#updates = :read", {":read": item["updates"]}
        else:
            condition, values = "attribute_not_exists(#updates)", {}
        try:
            client.delete_item(
                TableName=_table(),
                Key={"PK": {"S": _model_pk(game_id)}, "SK": {"S": group}},
                ConditionExpression=condition,
                ExpressionAttributeNames={"#updates": "updates"},
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if is_condition_failure(error):
                continue  # updated since it was read (or already gone): the next call looks again
            raise
        pruned += 1
    if pruned:
        forget_model(game_id)
    return pruned
