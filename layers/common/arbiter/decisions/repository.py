"""DynamoDB access for decisions (key design: docs/decisions.md, "Decisions catalog and interaction keys").

Campaigns table, catalog entities (JSON body, `rev` for optimistic concurrency):
  offer / rule / policy / guardrail  PK=DCAT#<id>                SK=OFFER|RULE|POLICY|GUARDRAIL
  decision flow (latest version)     PK=DFLOW#<tenant>#<key>     SK=FLOW   (after a delete: a tombstone, no body)
  decision flow history              PK=DFLOW#<tenant>#<key>     SK=V#<version, 6 digits>
  all of a tenant's catalog          GSI1PK=TENANT#<tenant>#DCATALOG  GSI1SK=<KIND>#<id or key>
  how many of a kind the tenant has  PK=DCATQUOTA#<tenant>       SK=OFFER|RULE|POLICY|GUARDRAIL|FLOW  item_count
                                     (SK=OFFER also `bytes`: the UTF-8 bytes of the tenant's offers' stored bodies)
Interactions table (TTL `expires_at`):
  decision log                       PK=DINT#<interactionId>     SK=DECISION
  outcome (idempotency marker)       PK=DINT#<interactionId>     SK=OUTCOME#<offerId>#<creativeId>#<outcome>
  first positive of a showing        PK=DINT#<interactionId>     SK=POSITIVE#<offerId>#<creativeId>
  contact history                    PK=DHIST#<tenant>#<customer> SK=HISTORY
  outcome statistics                 PK=DSTATS#<tenant>          SK=OFFER#<offerId>   (deleted with the offer)
A showing is an offer with one creative in one decision (ids are server-assigned, without '#').
"""

import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from arbiter import aws
from arbiter.dynamo import cancellation_reasons, page_all, quota, transactions
from arbiter.errors import BusinessRuleError, ConflictError, ForbiddenError, NotFoundError
from arbiter.settings import get_settings

CATALOG_INDEX = "GSI1"

# How many of each kind one tenant may keep (docs/decisions.md D9). Every warm recommend instance holds the
# tenant's whole catalog and evaluates all of it on each request, so these bound a recommend's CPU. Worst cases
# measured at 1,000 offers of 3 creatives (benchmarks/decisions_catalog_caps.py; CPU p50, moto included):
# - offers: the base cost, linear in the offers: 32 ms at 1,000, 86 ms at 2,500;
# - qualification rules: each is checked once per offer in its scope (offers x rules): 100 that apply to every
#   offer took 114 ms (a first run at 200: ~185 ms);
# - contact policies: each folds the customer's history (up to 500 events) on every request: 100 took 98 ms;
# - guardrails: cheap (applied to the few ranked offers; 100 took 35 ms), and a handful is the use;
# - decision flows: one serves a request, all are in the snapshot; a key counts once, whatever its versions.
# All at their caps over a full history: 197 ms.
MAX_PER_TENANT = {"OFFER": 1_000, "RULE": 100, "POLICY": 100, "GUARDRAIL": 100, "FLOW": 100}
FLOW = "FLOW"
# The stored JSON (UTF-8 bytes of `body`, creatives included) of all of a tenant's offers (docs/decisions.md D9),
# kept in `bytes` of its OFFER counter. The count caps do not bound a snapshot's memory (an offer can store ~400
# KB): parsed into a snapshot, a stored byte took 1.2 bytes as text and up to 24 as tiny nested JSON values (empty
# objects; short strings: 9), tracemalloc around build_snapshot, so 10 MB is at most ~250 MB at the worst shape
# with the page strings, inside Lambda's 512 MB, while leaving 1,000 offers 10 KB each.
MAX_OFFER_BYTES_PER_TENANT = 10_000_000
MEASURED = frozenset({"OFFER"})  # the other kinds are small and count-capped
CATALOG_CONTENDED = "The tenant's catalog was being changed by another request; retry"
# How the caps name each kind (the 422 detail, the API description).
PLURAL = {
    "OFFER": "offers",
    "RULE": "qualification rules",
    "POLICY": "contact policies",
    "GUARDRAIL": "guardrails",
    "FLOW": "decision flows",
}


def encode(value: Any) -> str:
    """Stored JSON: compact, and UTF-8 as it is (escaping non-ASCII would triple an emoji's 4 bytes)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def interactions_table():
    return aws.dynamodb_resource().Table(get_settings().interactions_table)


def catalog_partition(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#DCATALOG"


@dataclass(frozen=True, slots=True)
class StoredEntity:
    kind: str
    id: str
    tenant_id: str
    body: dict[str, Any]
    rev: int
    size: int  # stored_bytes of its body as read


# --- Catalog entities ---------------------------------------------------------------------------------------


def entity_key(kind: str, entity_id: str) -> dict[str, str]:
    return {"PK": f"DCAT#{entity_id}", "SK": kind}


def quota_key(tenant_id: str, kind: str) -> dict[str, dict[str, str]]:
    """The counter of the tenant's entities of one kind (arbiter.dynamo.quota), a low-level key."""
    return {"PK": {"S": f"DCATQUOTA#{tenant_id}"}, "SK": {"S": kind}}


def _taking_slot(kind: str, tenant_id: str, size: int = 0) -> dict[str, Any]:
    if kind not in MEASURED:
        return {"Update": quota.taking_slot(_counter(tenant_id, kind), MAX_PER_TENANT[kind])}
    counter = {**_counter(tenant_id, kind), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    return {"Update": quota.taking_slot(counter, MAX_PER_TENANT[kind], measure=_measure(size))}


def _freeing_slot(kind: str, tenant_id: str, size: int = 0) -> dict[str, Any]:
    measure = _measure(-size) if kind in MEASURED else None
    return {"Update": quota.freeing_slot(_counter(tenant_id, kind), measure=measure)}


def at_most(kind: str) -> BusinessRuleError:
    return BusinessRuleError(f"A tenant can have at most {MAX_PER_TENANT[kind]:,} {PLURAL[kind]}; delete one first")


def over_budget() -> BusinessRuleError:
    return BusinessRuleError(
        f"A tenant's offers can store at most {MAX_OFFER_BYTES_PER_TENANT:,} bytes of JSON (creatives included); "
        "delete or shrink an offer first"
    )


def stored_bytes(text: str) -> int:
    """The size an entity's body counts against the budget: its stored JSON's UTF-8 bytes."""
    return len(text.encode("utf-8"))


def _measure(delta: int) -> quota.Measure:
    return quota.Measure(delta, MAX_OFFER_BYTES_PER_TENANT)


def _counter(tenant_id: str, kind: str) -> dict[str, Any]:
    return {"TableName": get_settings().campaigns_table, "Key": quota_key(tenant_id, kind)}


def _counter_refusal(refused: transactions.ConditionsFailed, name: str, kind: str, tenant_id: str) -> BusinessRuleError:
    """The counter item refused the write: the count at its cap, else the bytes over the budget (the counter as the
    transaction saw it; read again if the refusal did not carry it)."""
    seen = refused.old_items.get(name)
    if seen is None:
        seen = (
            aws.dynamodb_client()
            .get_item(TableName=get_settings().campaigns_table, Key=quota_key(tenant_id, kind), ConsistentRead=True)
            .get("Item")
        )
    return at_most(kind) if quota.counted(seen) >= MAX_PER_TENANT[kind] else over_budget()


def put_new_entity(kind: str, tenant_id: str, entity_id: str, body: dict[str, Any]) -> None:
    """The new entity and one of the tenant's MAX_PER_TENANT[kind] slots (an offer: and its bytes of the budget), in
    one transaction: 422 at the cap or past the budget."""
    text = encode(body)
    item = {
        **entity_key(kind, entity_id),
        "GSI1PK": catalog_partition(tenant_id),
        "GSI1SK": f"{kind}#{entity_id}",
        "tenant_id": tenant_id,
        "body": text,
        "rev": 1,
    }
    put = {
        "TableName": get_settings().campaigns_table,
        "Item": _typed(item),
        "ConditionExpression": "attribute_not_exists(PK)",
    }
    try:
        transactions.transact(
            [("entity", {"Put": put}), ("slot", _taking_slot(kind, tenant_id, stored_bytes(text)))],
            contended=CATALOG_CONTENDED,
        )
    except transactions.ConditionsFailed as refused:
        if "slot" in refused.failed:
            if kind not in MEASURED:
                raise at_most(kind) from refused
            raise _counter_refusal(refused, "slot", kind, tenant_id) from refused
        raise ConflictError(f"Id '{entity_id}' is taken; retry") from refused  # ids are random: a retry gets another


def get_entity(kind: str, tenant_id: str, entity_id: str, label: str) -> StoredEntity:
    """404 when missing, 403 when it belongs to another tenant (docs/decisions.md D4)."""
    item = aws.campaigns_table().get_item(Key=entity_key(kind, entity_id), ConsistentRead=True).get("Item")
    if item is None:
        raise NotFoundError(f"{label} '{entity_id}' not found")
    if item["tenant_id"] != tenant_id:
        raise ForbiddenError(f"{label} '{entity_id}' belongs to another tenant")
    text = item["body"]
    return StoredEntity(kind, entity_id, tenant_id, json.loads(text), int(item["rev"]), stored_bytes(text))


def replace_entity(entity: StoredEntity, body: dict[str, Any], label: str) -> None:
    """Writes a new body if nobody changed the entity since it was read (rev) and it is still the tenant's; an
    offer's counter takes the change of its size in the same transaction (422 past the budget; a shrink always
    passes). The rev condition makes the read size the stored one, so the total stays exact."""
    text = encode(body)
    update = {
        "TableName": get_settings().campaigns_table,
        "Key": _typed(entity_key(entity.kind, entity.id)),
        "UpdateExpression": "SET body = :body, rev = :next",
        "ConditionExpression": "tenant_id = :tenant AND rev = :rev",
        "ExpressionAttributeValues": {
            ":body": {"S": text},
            ":next": {"N": str(entity.rev + 1)},
            ":rev": {"N": str(entity.rev)},
            ":tenant": {"S": entity.tenant_id},
        },
    }
    items = [("entity", {"Update": update})]
    delta = stored_bytes(text) - entity.size
    if entity.kind in MEASURED and delta:
        items.append(("bytes", {"Update": quota.measuring(_counter(entity.tenant_id, entity.kind), _measure(delta))}))
    changed = f"{label} '{entity.id}' was changed or deleted concurrently; retry"
    try:
        transactions.transact(items, contended=changed)
    except transactions.ConditionsFailed as refused:
        if "entity" in refused.failed:
            raise ConflictError(changed) from refused
        raise over_budget() from refused


def delete_entity(kind: str, tenant_id: str, entity_id: str, label: str) -> None:
    """The entity goes and its slot (an offer: and its bytes) is given back, in one transaction; an offer's outcome
    statistics go in it too (a respond cannot recreate them once the offer is gone: record_outcome checks the offer
    in its transaction). An offer's delete is conditioned on the rev it read, so the bytes it frees are the stored
    ones; one changed in between is read and deleted again."""
    settings = get_settings()
    for _ in range(transactions.TRANSACT_ATTEMPTS):
        entity = get_entity(kind, tenant_id, entity_id, label)  # 404 / 403 first
        delete: dict[str, Any] = {
            "TableName": settings.campaigns_table,
            "Key": _typed(entity_key(kind, entity_id)),
            "ConditionExpression": "tenant_id = :tenant",
            "ExpressionAttributeValues": {":tenant": {"S": tenant_id}},
        }
        if kind in MEASURED:
            delete["ConditionExpression"] = "tenant_id = :tenant AND rev = :rev"
            delete["ExpressionAttributeValues"][":rev"] = {"N": str(entity.rev)}
        items = [("entity", {"Delete": delete}), ("slot", _freeing_slot(kind, tenant_id, entity.size))]
        if kind == "OFFER":
            stats = {"TableName": settings.interactions_table, "Key": _typed(outcome_stats_key(tenant_id, entity_id))}
            items.append(("statistics", {"Delete": stats}))
        try:
            transactions.transact(items, contended=CATALOG_CONTENDED)
            return
        except transactions.ConditionsFailed as refused:  # only the entity has a condition
            if kind not in MEASURED:
                raise NotFoundError(f"{label} '{entity_id}' not found") from refused
            # deleted (the next read answers 404) or changed since it was read: read it again
    raise ConflictError(CATALOG_CONTENDED)


# --- Decision flows -----------------------------------------------------------------------------------------


def flow_key(tenant_id: str, key: str) -> dict[str, str]:
    return {"PK": f"DFLOW#{tenant_id}#{key}", "SK": "FLOW"}


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """A flow key's latest item: its body, or None once deleted, and the last version published under the key."""

    body: dict[str, Any] | None
    version: int


def get_flow(tenant_id: str, key: str) -> FlowRecord:
    item = aws.campaigns_table().get_item(Key=flow_key(tenant_id, key), ConsistentRead=True).get("Item")
    if item is None:
        return FlowRecord(None, 0)
    body = None if item.get("deleted") else json.loads(item["body"])
    return FlowRecord(body, int(item["version"]))


def publish_flow(tenant_id: str, key: str, body: dict[str, Any], previous: FlowRecord) -> None:
    """Latest item and history item in one transaction; the version condition serialises publishers. A key with
    no live flow (new, or deleted) also takes one of the tenant's flow slots in it; a new version does not."""
    table = get_settings().campaigns_table
    text = encode(body)
    latest = {
        **flow_key(tenant_id, key),
        "GSI1PK": catalog_partition(tenant_id),
        "GSI1SK": f"FLOW#{key}",
        "tenant_id": tenant_id,
        "body": text,
        "version": body["version"],
    }
    put_latest: dict[str, Any] = {"TableName": table, "Item": _typed(latest)}
    if previous.version == 0:
        put_latest["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        # Still as read: live (a new version, not counted) or a tombstone (counted again), so a delete racing this
        # publish cannot leave a live flow uncounted.
        state = "attribute_not_exists(deleted)" if previous.body is not None else "attribute_exists(deleted)"
        put_latest["ConditionExpression"] = f"version = :previous AND {state}"
        put_latest["ExpressionAttributeValues"] = {":previous": {"N": str(previous.version)}}
    history = {"PK": f"DFLOW#{tenant_id}#{key}", "SK": f"V#{body['version']:06d}", "tenant_id": tenant_id, "body": text}
    put_history = {"TableName": table, "Item": _typed(history), "ConditionExpression": "attribute_not_exists(PK)"}
    items = [("latest", {"Put": put_latest}), ("history", {"Put": put_history})]
    if previous.body is None:
        items.append(("slot", _taking_slot(FLOW, tenant_id)))
    contended = f"Decision flow '{key}' was published concurrently; retry"
    try:
        transactions.transact(items, contended=contended)
    except transactions.ConditionsFailed as refused:
        if refused.failed & {"latest", "history"} or refused.contended:
            raise ConflictError(contended) from refused
        raise at_most(FLOW) from refused  # the slot


def delete_flow(tenant_id: str, key: str) -> None:
    """The flow stops serving: its latest item becomes a tombstone (out of the catalog index) that keeps the last
    version, so publishing the key again continues at n + 1 rather than colliding with the history kept for
    audit. Its flow slot is given back in the same transaction."""
    tombstone = {
        "TableName": get_settings().campaigns_table,
        "Key": _typed(flow_key(tenant_id, key)),
        "UpdateExpression": "SET deleted = :true REMOVE body, GSI1PK, GSI1SK",
        "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(deleted)",
        "ExpressionAttributeValues": {":true": {"BOOL": True}},
    }
    try:
        transactions.transact(
            [("flow", {"Update": tombstone}), ("slot", _freeing_slot(FLOW, tenant_id))], contended=CATALOG_CONTENDED
        )
    except transactions.ConditionsFailed as refused:  # only the flow has a condition
        raise NotFoundError(f"Decision flow '{key}' not found") from refused


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    return {name: {"N": str(value)} if isinstance(value, int) else {"S": value} for name, value in item.items()}


# --- Whole catalog (the recommend cache) --------------------------------------------------------------------


def load_catalog(tenant_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(kind, body) of every catalog entity of the tenant: one paginated Query on GSI1."""
    return load_sized_catalog(tenant_id)[0]


def load_sized_catalog(tenant_id: str) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """load_catalog's entities and the UTF-8 bytes of their stored bodies (what a snapshot's memory grows with)."""
    items = page_all(
        aws.campaigns_table().query,
        IndexName=CATALOG_INDEX,
        KeyConditionExpression=Key("GSI1PK").eq(catalog_partition(tenant_id)),
    )
    entities = [(item["GSI1SK"].split("#", 1)[0], json.loads(item["body"])) for item in items]
    return entities, sum(len(item["body"].encode()) for item in items)


def outcome_stats_key(tenant_id: str, offer_id: str) -> dict[str, str]:
    return {"PK": f"DSTATS#{tenant_id}", "SK": f"OFFER#{offer_id}"}


def load_outcome_stats(tenant_id: str) -> dict[str, dict[str, int]]:
    items = page_all(interactions_table().query, KeyConditionExpression=Key("PK").eq(f"DSTATS#{tenant_id}"))
    return {
        item["SK"].removeprefix("OFFER#"): {
            name: int(value) for name, value in item.items() if name not in ("PK", "SK")
        }
        for item in items
    }


# --- Interactions -------------------------------------------------------------------------------------------


def history_key(tenant_id: str, customer_id: str) -> dict[str, str]:
    return {"PK": f"DHIST#{tenant_id}#{customer_id}", "SK": "HISTORY"}


def get_history(tenant_id: str, customer_id: str, consistent: bool = False) -> tuple[list[dict[str, Any]], int]:
    """(events, rev) of a customer's contact history; ([], 0) for a new customer. An eventually consistent read
    costs half, and may miss the latest write (respond reads consistently once its conditional write lost)."""
    item = interactions_table().get_item(Key=history_key(tenant_id, customer_id), ConsistentRead=consistent).get("Item")
    if item is None:
        return [], 0
    return json.loads(item["events"]), int(item["rev"])


def put_decision(interaction_id: str, tenant_id: str, customer_id: str, body: dict[str, Any], expires_at: int) -> None:
    interactions_table().put_item(
        Item={
            "PK": f"DINT#{interaction_id}",
            "SK": "DECISION",
            "tenant_id": tenant_id,
            "customer_id": customer_id,
            "body": encode(body),
            "expires_at": expires_at,
        },
        ConditionExpression="attribute_not_exists(PK)",
    )


def get_decision(interaction_id: str) -> dict[str, Any] | None:
    item = interactions_table().get_item(Key={"PK": f"DINT#{interaction_id}", "SK": "DECISION"}).get("Item")
    if item is None:
        return None
    return {"tenant_id": item["tenant_id"], "customer_id": item["customer_id"], **json.loads(item["body"])}


class DuplicateOutcome(Exception):
    """This (interaction, offer, creative, outcome) was already recorded."""


class HistoryChanged(Exception):
    """Another writer updated the customer's contact history since it was read."""


class OutcomeContended(Exception):
    """Another transaction was writing one of the items (e.g. the offer's statistics) at that instant."""


class PositiveAlreadyCounted(Exception):
    """An earlier positive outcome (click, accept, convert) of this showing already counted it as a positive."""


class OfferDeleted(Exception):
    """The offer is no longer in the catalog: its statistics were deleted with it and must not be recreated."""


def outcome_marker_key(interaction_id: str, offer_id: str, creative_id: str, outcome: str) -> dict[str, str]:
    """One per showing (offer + creative) and outcome: a multi-placement decision may show one offer twice, with
    two creatives, and each showing's outcome is its own."""
    return {"PK": f"DINT#{interaction_id}", "SK": f"OUTCOME#{offer_id}#{creative_id}#{outcome}"}


def record_outcome(
    *,
    tenant_id: str,
    interaction_id: str,
    customer_id: str,
    offer_id: str,
    creative_id: str,
    outcome: str,
    marker: dict[str, Any],
    events: list[dict[str, Any]],
    history_rev: int,
    value_micros: int,
    expires_at: int,
    count_positive: bool = False,
    count_stats: bool = True,
) -> None:
    """One transaction: the showing's idempotency marker (new), the contact history (unchanged since read) and,
    with `count_stats`, the offer's outcome counters, on condition that the offer is still in the catalog (a
    respond for a deleted offer must not recreate the counters deleted with it). Either all happen or none. With
    `count_positive`, the showing's first positive outcome also adds one to `positives` under its own marker
    (`POSITIVE#<offer>#<creative>`): a click, accept and convert of one showing are one positive for the learned
    propensity, P(positive | shown), and each showing of an offer is one trial."""
    settings = get_settings()
    table = settings.interactions_table
    history = history_key(tenant_id, customer_id)
    history_condition = "attribute_not_exists(PK)" if history_rev == 0 else "rev = :rev"
    put_history: dict[str, Any] = {
        "TableName": table,
        "Item": {
            "PK": {"S": history["PK"]},
            "SK": {"S": history["SK"]},
            "events": {"S": encode(events)},
            "rev": {"N": str(history_rev + 1)},
            "expires_at": {"N": str(expires_at)},
        },
        "ConditionExpression": history_condition,
    }
    if history_rev:
        put_history["ExpressionAttributeValues"] = {":rev": {"N": str(history_rev)}}
    marker_key = outcome_marker_key(interaction_id, offer_id, creative_id, outcome)
    showing = {"PK": {"S": marker_key["PK"]}, "expires_at": {"N": str(expires_at)}}
    # Positional: a cancellation's reasons are read by index below (marker 0, history 1, statistics 2).
    items = [
        _put_new(table, {**showing, "SK": {"S": marker_key["SK"]}, "body": {"S": encode(marker)}}),
        {"Put": put_history},
    ]
    positive_at = offer_at = None
    if count_stats:
        stats_key = outcome_stats_key(tenant_id, offer_id)
        items.append(
            {
                "Update": {
                    "TableName": table,
                    "Key": {"PK": {"S": stats_key["PK"]}, "SK": {"S": stats_key["SK"]}},
                    "UpdateExpression": "ADD #outcome :one, value_micros :value"
                    + (", positives :one" if count_positive else ""),
                    "ExpressionAttributeNames": {"#outcome": outcome},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":value": {"N": str(value_micros)}},
                }
            }
        )
        if count_positive:
            positive_at = len(items)
            items.append(_put_new(table, {**showing, "SK": {"S": f"POSITIVE#{offer_id}#{creative_id}"}}))
        offer_at = len(items)
        offer = entity_key("OFFER", offer_id)
        items.append(
            {
                "ConditionCheck": {
                    "TableName": settings.campaigns_table,
                    "Key": {"PK": {"S": offer["PK"]}, "SK": {"S": offer["SK"]}},
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
        )
    try:
        aws.dynamodb_client().transact_write_items(TransactItems=items)
    except ClientError as error:
        reasons = cancellation_reasons(error)

        def failed(index: int | None) -> bool:
            return index is not None and len(reasons) > index and reasons[index] == "ConditionalCheckFailed"

        if failed(0):
            raise DuplicateOutcome from error
        if failed(1):
            raise HistoryChanged from error
        if failed(offer_at):
            raise OfferDeleted from error
        if failed(positive_at):
            raise PositiveAlreadyCounted from error
        if "TransactionConflict" in reasons:
            raise OutcomeContended from error
        raise


def _put_new(table: str, item: dict[str, Any]) -> dict[str, Any]:
    """A TransactWriteItems Put that only creates: a marker that exists already cancels the transaction."""
    return {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}


def get_outcome_marker(interaction_id: str, offer_id: str, creative_id: str, outcome: str) -> dict[str, Any] | None:
    item = interactions_table().get_item(Key=outcome_marker_key(interaction_id, offer_id, creative_id, outcome))
    return json.loads(item["Item"]["body"]) if "Item" in item else None
