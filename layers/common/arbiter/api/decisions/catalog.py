"""Routes: the decision catalog (offers, creatives, qualification rules, contact policies, guardrails, flows)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from arbiter.auth.dependencies import DecisionsClient
from arbiter.decisions import catalog as logic
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
from arbiter.decisions.repository import MAX_PER_TENANT, PLURAL

router = Router()
TAGS = ["Decisions: catalog"]
Id = Annotated[str, Path(min_length=1, max_length=64)]


def _cap(kind: str) -> str:
    return f"A tenant has at most {MAX_PER_TENANT[kind]:,} {PLURAL[kind]}: 422 beyond, until one is deleted."


@router.post(
    "/api/v1/offers",
    status_code=201,
    tags=TAGS,
    summary="Create an offer (with creatives)",
    description=_cap("OFFER") + " A PUT or a creative added to an offer takes no slot.",
)
def create_offer(body: OfferInput, principal: DecisionsClient) -> OfferOutput:
    return logic.create_offer(principal, body)


@router.get("/api/v1/offers", tags=TAGS, summary="List offers")
def list_offers(principal: DecisionsClient) -> OfferListOutput:
    return logic.list_offers(principal)


@router.get("/api/v1/offers/<offerId>", tags=TAGS, summary="Get an offer")
def get_offer(offerId: Id, principal: DecisionsClient) -> OfferOutput:
    return logic.get_offer(principal, offerId)


@router.put("/api/v1/offers/<offerId>", tags=TAGS, summary="Replace an offer (creatives kept unless listed)")
def update_offer(offerId: Id, body: OfferInput, principal: DecisionsClient) -> OfferOutput:
    return logic.update_offer(principal, offerId, body)


@router.delete("/api/v1/offers/<offerId>", status_code=204, tags=TAGS, summary="Delete an offer")
def delete_offer(offerId: Id, principal: DecisionsClient) -> Response[None]:
    logic.delete_offer(principal, offerId)
    return Response(status_code=204)


@router.post("/api/v1/offers/<offerId>/creatives", status_code=201, tags=TAGS, summary="Add a creative to an offer")
def add_creative(offerId: Id, body: CreativeInput, principal: DecisionsClient) -> CreativeOutput:
    return logic.add_creative(principal, offerId, body)


@router.get("/api/v1/offers/<offerId>/creatives", tags=TAGS, summary="List an offer's creatives")
def list_creatives(offerId: Id, principal: DecisionsClient) -> CreativeListOutput:
    return logic.list_creatives(principal, offerId)


@router.delete(
    "/api/v1/offers/<offerId>/creatives/<creativeId>", status_code=204, tags=TAGS, summary="Delete a creative"
)
def delete_creative(offerId: Id, creativeId: Id, principal: DecisionsClient) -> Response[None]:
    logic.delete_creative(principal, offerId, creativeId)
    return Response(status_code=204)


@router.post(
    "/api/v1/qualification-rules",
    status_code=201,
    tags=TAGS,
    summary="Create a qualification rule",
    description=_cap("RULE"),
)
def create_rule(body: QualificationRuleInput, principal: DecisionsClient) -> QualificationRuleOutput:
    return logic.create_rule(principal, body)


@router.get("/api/v1/qualification-rules", tags=TAGS, summary="List qualification rules")
def list_rules(principal: DecisionsClient) -> QualificationRuleListOutput:
    return logic.list_rules(principal)


@router.delete(
    "/api/v1/qualification-rules/<ruleId>", status_code=204, tags=TAGS, summary="Delete a qualification rule"
)
def delete_rule(ruleId: Id, principal: DecisionsClient) -> Response[None]:
    logic.delete_rule(principal, ruleId)
    return Response(status_code=204)


@router.post(
    "/api/v1/contact-policies",
    status_code=201,
    tags=TAGS,
    summary="Create a contact policy",
    description=_cap("POLICY"),
)
def create_policy(body: ContactPolicyInput, principal: DecisionsClient) -> ContactPolicyOutput:
    return logic.create_policy(principal, body)


@router.get("/api/v1/contact-policies", tags=TAGS, summary="List contact policies")
def list_policies(principal: DecisionsClient) -> ContactPolicyListOutput:
    return logic.list_policies(principal)


@router.delete("/api/v1/contact-policies/<policyId>", status_code=204, tags=TAGS, summary="Delete a contact policy")
def delete_policy(policyId: Id, principal: DecisionsClient) -> Response[None]:
    logic.delete_policy(principal, policyId)
    return Response(status_code=204)


@router.post(
    "/api/v1/guardrails",
    status_code=201,
    tags=TAGS,
    summary="Create a guardrail",
    description=_cap("GUARDRAIL"),
)
def create_guardrail(body: GuardrailInput, principal: DecisionsClient) -> GuardrailOutput:
    return logic.create_guardrail(principal, body)


@router.get("/api/v1/guardrails", tags=TAGS, summary="List guardrails")
def list_guardrails(principal: DecisionsClient) -> GuardrailListOutput:
    return logic.list_guardrails(principal)


@router.delete("/api/v1/guardrails/<guardrailId>", status_code=204, tags=TAGS, summary="Delete a guardrail")
def delete_guardrail(guardrailId: Id, principal: DecisionsClient) -> Response[None]:
    logic.delete_guardrail(principal, guardrailId)
    return Response(status_code=204)


@router.post(
    "/api/v1/decision-flows",
    status_code=201,
    tags=TAGS,
    summary="Create a flow or publish its next version",
    description=_cap("FLOW")
    + " A flow key counts once, whatever its versions; a deleted key published again counts again.",
)
def publish_flow(body: DecisionFlowInput, principal: DecisionsClient) -> DecisionFlowOutput:
    return logic.publish_flow(principal, body)


@router.get("/api/v1/decision-flows", tags=TAGS, summary="List decision flows (latest versions)")
def list_flows(principal: DecisionsClient) -> DecisionFlowListOutput:
    return logic.list_flows(principal)


@router.get("/api/v1/decision-flows/<flowKey>", tags=TAGS, summary="Get a decision flow's latest version")
def get_flow(flowKey: Id, principal: DecisionsClient) -> DecisionFlowOutput:
    return logic.get_flow(principal, flowKey)


@router.delete("/api/v1/decision-flows/<flowKey>", status_code=204, tags=TAGS, summary="Delete a decision flow")
def delete_flow(flowKey: Id, principal: DecisionsClient) -> Response[None]:
    logic.delete_flow(principal, flowKey)
    return Response(status_code=204)
