"""Catalog management: offers (+ creatives), qualification rules, contact policies, guardrails, decision flows.

Every write also drops this instance's cached snapshot of the tenant's catalog; other warm instances see the
change within CATALOG_CACHE_TTL_SECONDS (cache.py).
"""

from typing import Any

from arbiter import clock, ids
from arbiter.auth.models import Principal
from arbiter.decisions import cache, repository
from arbiter.decisions.models import (
    ContactPolicyInput,
    ContactPolicyListOutput,
    ContactPolicyOutput,
    CreativeInput,
    CreativeListOutput,
    CreativeOutput,
    DecisionFlowInput,
    DecisionFlowListOutput,
    DecisionFlowOutput,
    GuardrailInput,
    GuardrailListOutput,
    GuardrailOutput,
    OfferInput,
    OfferListOutput,
    OfferOutput,
    QualificationRuleInput,
    QualificationRuleListOutput,
    QualificationRuleOutput,
)
from arbiter.errors import BusinessRuleError, NotFoundError

OFFER, RULE, POLICY, GUARDRAIL, FLOW = "OFFER", "RULE", "POLICY", "GUARDRAIL", "FLOW"
MAX_CREATIVES_PER_OFFER = 20


def _creative_body(
    offer_id: str, request: CreativeInput, now: str, kept: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A new creative, or (`kept`) the new version of a stored one, which keeps its id and creation time."""
    identity = (
        {"id": kept["id"], "created_at": kept["created_at"]} if kept else {"id": ids.new_id("dcr"), "created_at": now}
    )
    return {**request.model_dump(mode="json", exclude={"id"}), **identity, "offer_id": offer_id}


def _refuse_client_ids(creatives: list[CreativeInput]) -> None:
    if any(creative.id is not None for creative in creatives):
        raise BusinessRuleError("A new creative's id is assigned by the server; send ids only in a PUT of the offer")


def _replacement_creatives(
    offer_id: str, stored: list[dict[str, Any]], sent: list[CreativeInput], now: str
) -> list[dict[str, Any]]:
    """PUT's creatives: one naming a stored creative's id keeps it, the others are new."""
    by_id = {creative["id"]: creative for creative in stored}
    named = [creative.id for creative in sent if creative.id is not None]
    if len(named) != len(set(named)):
        raise BusinessRuleError("A creative id appears more than once")
    unknown = [creative_id for creative_id in named if creative_id not in by_id]
    if unknown:
        raise BusinessRuleError(f"Creative '{unknown[0]}' is not one of offer '{offer_id}'s creatives")
    return [_creative_body(offer_id, creative, now, by_id.get(creative.id or "")) for creative in sent]


def _offer_output(body: dict[str, Any]) -> OfferOutput:
    return OfferOutput.model_validate(body)


# --- Offers -------------------------------------------------------------------------------------------------


def create_offer(principal: Principal, request: OfferInput) -> OfferOutput:
    _refuse_client_ids(request.creatives)
    now = clock.now_iso()
    offer_id = ids.new_id("off")
    body = {
        **request.model_dump(mode="json", exclude={"creatives"}),
        "id": offer_id,
        "created_at": now,
        "updated_at": now,
    }
    body["creatives"] = [_creative_body(offer_id, creative, now) for creative in request.creatives]
    repository.put_new_entity(OFFER, principal.tenant_id, offer_id, body)
    cache.invalidate(principal.tenant_id)
    return _offer_output(body)


def list_offers(principal: Principal) -> OfferListOutput:
    offers = [_offer_output(body) for kind, body in repository.load_catalog(principal.tenant_id) if kind == OFFER]
    return OfferListOutput(offers=offers, count=len(offers))


def get_offer(principal: Principal, offer_id: str) -> OfferOutput:
    return _offer_output(repository.get_entity(OFFER, principal.tenant_id, offer_id, "Offer").body)


def update_offer(principal: Principal, offer_id: str, request: OfferInput) -> OfferOutput:
    """PUT replaces the offer's fields; its creatives are kept unless the body lists creatives, and a listed creative
    that names a stored one's id keeps that id (contact policies scoped to a creative count against its id)."""
    stored = repository.get_entity(OFFER, principal.tenant_id, offer_id, "Offer")
    now = clock.now_iso()
    body = {
        **request.model_dump(mode="json", exclude={"creatives"}),
        "id": offer_id,
        "created_at": stored.body["created_at"],
        "updated_at": now,
        "creatives": (
            _replacement_creatives(offer_id, stored.body["creatives"], request.creatives, now)
            if "creatives" in request.model_fields_set
            else stored.body["creatives"]
        ),
    }
    repository.replace_entity(stored, body, "Offer")
    cache.invalidate(principal.tenant_id)
    return _offer_output(body)


def delete_offer(principal: Principal, offer_id: str) -> None:
    repository.delete_entity(OFFER, principal.tenant_id, offer_id, "Offer")  # and its outcome statistics
    cache.invalidate(principal.tenant_id)


# --- Creatives (embedded in their offer) --------------------------------------------------------------------


def add_creative(principal: Principal, offer_id: str, request: CreativeInput) -> CreativeOutput:
    _refuse_client_ids([request])
    stored = repository.get_entity(OFFER, principal.tenant_id, offer_id, "Offer")
    if len(stored.body["creatives"]) >= MAX_CREATIVES_PER_OFFER:
        raise BusinessRuleError(f"An offer has at most {MAX_CREATIVES_PER_OFFER} creatives")
    now = clock.now_iso()
    creative = _creative_body(offer_id, request, now)
    body = {**stored.body, "creatives": [*stored.body["creatives"], creative], "updated_at": now}
    repository.replace_entity(stored, body, "Offer")
    cache.invalidate(principal.tenant_id)
    return CreativeOutput.model_validate(creative)


def list_creatives(principal: Principal, offer_id: str) -> CreativeListOutput:
    creatives = [CreativeOutput.model_validate(c) for c in get_offer(principal, offer_id).model_dump()["creatives"]]
    return CreativeListOutput(creatives=creatives, count=len(creatives))


def delete_creative(principal: Principal, offer_id: str, creative_id: str) -> None:
    stored = repository.get_entity(OFFER, principal.tenant_id, offer_id, "Offer")
    kept = [creative for creative in stored.body["creatives"] if creative["id"] != creative_id]
    if len(kept) == len(stored.body["creatives"]):
        raise NotFoundError(f"Creative '{creative_id}' not found in offer '{offer_id}'")
    repository.replace_entity(stored, {**stored.body, "creatives": kept, "updated_at": clock.now_iso()}, "Offer")
    cache.invalidate(principal.tenant_id)


# --- Rules, policies, guardrails (same life cycle: create, list, delete) ------------------------------------


def _create_simple(principal: Principal, kind: str, prefix: str, request: Any) -> dict[str, Any]:
    entity_id = ids.new_id(prefix)
    body = {**request.model_dump(mode="json"), "id": entity_id, "created_at": clock.now_iso()}
    repository.put_new_entity(kind, principal.tenant_id, entity_id, body)
    cache.invalidate(principal.tenant_id)
    return body


def _list_simple(principal: Principal, kind: str) -> list[dict[str, Any]]:
    return [body for found, body in repository.load_catalog(principal.tenant_id) if found == kind]


def _delete_simple(principal: Principal, kind: str, entity_id: str, label: str) -> None:
    repository.delete_entity(kind, principal.tenant_id, entity_id, label)
    cache.invalidate(principal.tenant_id)


def create_rule(principal: Principal, request: QualificationRuleInput) -> QualificationRuleOutput:
    return QualificationRuleOutput.model_validate(_create_simple(principal, RULE, "qr", request))


def list_rules(principal: Principal) -> QualificationRuleListOutput:
    rules = [QualificationRuleOutput.model_validate(body) for body in _list_simple(principal, RULE)]
    return QualificationRuleListOutput(rules=rules, count=len(rules))


def delete_rule(principal: Principal, rule_id: str) -> None:
    _delete_simple(principal, RULE, rule_id, "Qualification rule")


def create_policy(principal: Principal, request: ContactPolicyInput) -> ContactPolicyOutput:
    return ContactPolicyOutput.model_validate(_create_simple(principal, POLICY, "cp", request))


def list_policies(principal: Principal) -> ContactPolicyListOutput:
    policies = [ContactPolicyOutput.model_validate(body) for body in _list_simple(principal, POLICY)]
    return ContactPolicyListOutput(policies=policies, count=len(policies))


def delete_policy(principal: Principal, policy_id: str) -> None:
    _delete_simple(principal, POLICY, policy_id, "Contact policy")


def create_guardrail(principal: Principal, request: GuardrailInput) -> GuardrailOutput:
    return GuardrailOutput.model_validate(_create_simple(principal, GUARDRAIL, "gr", request))


def list_guardrails(principal: Principal) -> GuardrailListOutput:
    guardrails = [GuardrailOutput.model_validate(body) for body in _list_simple(principal, GUARDRAIL)]
    return GuardrailListOutput(guardrails=guardrails, count=len(guardrails))


def delete_guardrail(principal: Principal, guardrail_id: str) -> None:
    _delete_simple(principal, GUARDRAIL, guardrail_id, "Guardrail")


# --- Decision flows -----------------------------------------------------------------------------------------


def publish_flow(principal: Principal, request: DecisionFlowInput) -> DecisionFlowOutput:
    """A new key starts at version 1; posting an existing key publishes version n + 1."""
    # After a delete the key continues its version sequence: the history keeps every version published.
    previous = repository.get_flow(principal.tenant_id, request.key)
    body = {**request.model_dump(mode="json"), "version": previous.version + 1, "created_at": clock.now_iso()}
    repository.publish_flow(principal.tenant_id, request.key, body, previous)
    cache.invalidate(principal.tenant_id)
    return DecisionFlowOutput.model_validate(body)


def list_flows(principal: Principal) -> DecisionFlowListOutput:
    flows = [DecisionFlowOutput.model_validate(body) for body in _list_simple(principal, FLOW)]
    return DecisionFlowListOutput(flows=flows, count=len(flows))


def get_flow(principal: Principal, key: str) -> DecisionFlowOutput:
    body = repository.get_flow(principal.tenant_id, key).body
    if body is None:
        raise NotFoundError(f"Decision flow '{key}' not found")
    return DecisionFlowOutput.model_validate(body)


def delete_flow(principal: Principal, key: str) -> None:
    repository.delete_flow(principal.tenant_id, key)
    cache.invalidate(principal.tenant_id)
