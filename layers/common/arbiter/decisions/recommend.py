"""/api/v1/recommend: resolve the customer and the flow, run the engine, log the decision, shape the response.

DynamoDB per warm call: one GetItem (the customer's contact history) and one PutItem (the decision log).
The catalog comes from the per-instance snapshot (cache.py).
"""

import re
import uuid
from typing import Any

from arbiter import clock
from arbiter.auth.models import Principal
from arbiter.core.text import label_key
from arbiter.decisions import cache, engine, identity, repository
from arbiter.decisions.api_models import (
    Decision,
    GroupedFlowOutput,
    GroupedOffer,
    MultiPlacementOutput,
    PlacementGroup,
    RecommendGetOutput,
    RecommendOutput,
    RecommendRequest,
)
from arbiter.decisions.cache import CatalogSnapshot
from arbiter.decisions.models import DecisionFlowOutput, FlowOutput_, Strategy
from arbiter.errors import NotFoundError

DECISION_LOG_TTL_SECONDS = 90 * 86_400
BUILT_IN_FLOW = DecisionFlowOutput(
    key="default", name="Built-in default (priority_weighted)", version=0, created_at="1970-01-01T00:00:00Z"
)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def new_interaction_id() -> str:
    """A UUID like the seed's; a function so the demo world can pin it."""
    return str(uuid.uuid4())


def resolve_flow(snapshot: CatalogSnapshot, request: RecommendRequest) -> DecisionFlowOutput:
    """The named flow; else the best-matching routing rule; else the default flow; else the built-in one."""
    if request.decision_flow_key:
        flow = snapshot.flows.get(request.decision_flow_key)
        if flow is None:
            raise NotFoundError(f"Decision flow '{request.decision_flow_key}' not found")
        return flow
    segments = {label_key(segment) for segment in request.segments}
    placements = {p.placement_id for p in request.placements or ()} | (
        {request.placement} if request.placement else set()
    )
    routed = [
        flow
        for flow in snapshot.flows.values()
        if flow.routing is not None
        and (not flow.routing.channels or request.channel in flow.routing.channels)
        and (not flow.routing.placements or placements & set(flow.routing.placements))
        and (not flow.routing.segments or segments & {label_key(segment) for segment in flow.routing.segments})
    ]
    if routed:
        return max(routed, key=lambda flow: (flow.routing.priority, flow.key))  # type: ignore[union-attr]
    defaults = sorted(flow.key for flow in snapshot.flows.values() if flow.is_default)
    return snapshot.flows[defaults[0]] if defaults else BUILT_IN_FLOW


def strategy_for(tenant_id: str, flow: DecisionFlowOutput, customer_id: str) -> tuple[str, Strategy | None]:
    """(variant, strategy); the holdout gets no strategy (no offers)."""
    if flow.experiment is None:
        return "champion", flow.champion
    variant = identity.assign_variant(
        tenant_id, flow.key, customer_id, flow.experiment.challenger_share, flow.experiment.holdout_share
    )
    return variant, {"champion": flow.champion, "challenger": flow.experiment.challenger, "holdout": None}[variant]


def personalize(fields: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    """Fills {{attribute}} placeholders the caller's attributes can answer; others stay for the client."""

    def fill(text: str) -> str:
        def one(match: re.Match) -> str:
            value: Any = attributes
            for part in match.group(1).split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return (
                str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else match.group(0)
            )

        return _PLACEHOLDER.sub(one, text)

    return {name: fill(value) if isinstance(value, str) else value for name, value in fields.items()}


def _decision(item: engine.Chosen, attributes: dict[str, Any]) -> Decision:
    offer, creative = item.offer, item.creative
    return Decision(
        rank=item.rank,
        score=round(item.score.value, 4),
        creative_id=creative.id,
        creative_name=creative.name,
        offer_id=offer.id,
        offer_name=offer.name,
        category=offer.category,
        sub_category=offer.sub_category,
        channel_type=creative.channel_type,
        channel_name=creative.channel_name,
        placement=creative.placement,
        template_type=creative.template_type,
        content=creative.content,
        personalization=personalize(creative.personalization, attributes),
        ab_test_variant=creative.ab_test_variant,
        weight=creative.weight,
        priority=offer.priority,
        constraints=creative.constraints,
        expires_at=offer.expires_at,
        metadata=offer.metadata,
        score_explanation=_public_explanation(item.score.details),
    )


def _public_explanation(details: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value for name, value in details.items() if name not in ("modelType", "totalScore", "contributions")
    } | ({"contributions": details["contributions"]} if details["method"] == "scorecard" else {})


def _grouped(decisions: list[Decision]) -> PlacementGroup:
    offers = [
        GroupedOffer(
            rank=d.rank,
            score=d.score,
            offer_id=d.offer_id,
            creative={name: value for name, value in d.model_dump(by_alias=True).items() if name in _CREATIVE_FIELDS},
            offer={name: value for name, value in d.model_dump(by_alias=True).items() if name in _OFFER_FIELDS},
        )
        for d in decisions
    ]
    return PlacementGroup(offers=offers, count=len(offers))


_CREATIVE_FIELDS = {
    "creativeId",
    "creativeName",
    "channelType",
    "channelName",
    "placement",
    "templateType",
    "content",
    "personalization",
    "abTestVariant",
    "weight",
    "constraints",
}
_OFFER_FIELDS = {
    "offerId",
    "offerName",
    "category",
    "subCategory",
    "priority",
    "expiresAt",
    "metadata",
    "scoreExplanation",
}


def recommend(
    principal: Principal, request: RecommendRequest, *, source_ip: str, user_agent: str, flat_get: bool = False
) -> RecommendOutput | RecommendGetOutput | MultiPlacementOutput | GroupedFlowOutput:
    tenant_id = principal.tenant_id
    customer_id = request.customer_id
    if not customer_id or customer_id == identity.ANONYMOUS:
        customer_id = identity.anonymous_id(tenant_id, request.session_id, source_ip, user_agent)
    snapshot = cache.snapshot(tenant_id)
    flow = resolve_flow(snapshot, request)
    variant, strategy = strategy_for(tenant_id, flow, customer_id)
    moment = clock.now()
    history, _ = repository.get_history(tenant_id, customer_id)
    decision_input = engine.DecisionInput(
        tenant_id=tenant_id,
        customer_id=customer_id,
        now=int(moment.timestamp()),
        limit=request.limit,
        channel=request.channel,
        channel_id=request.channel_id,
        placement=request.placement,
        placements=tuple((p.placement_id, p.limit) for p in request.placements or ()),
        deduplicate=request.deduplicate,
        segments=frozenset(label_key(segment) for segment in request.segments),
        attributes=request.attributes,
        context=request.context,
        locale=request.locale,
        exclude_offers=frozenset(request.exclude_offers),
        exclude_creatives=frozenset(request.exclude_creatives),
        debug=request.debug,
    )
    if strategy is None:  # holdout: measured for lift, shown nothing
        targets = decision_input.placements or ((request.placement, request.limit),)
        result = engine.EngineResult([(p, []) for p, _ in targets], None, len(snapshot.offers))
        if request.debug:
            result.trace = {
                "totalCandidates": len(snapshot.offers),
                "afterQualification": 0,
                "afterContactPolicy": 0,
                "topScores": [],
                "policyVersion": snapshot.policy_version,
                "qualificationReasons": [],
                "contactPolicyReasons": [],
                "guardrailReasons": [],
                "otherReasons": [],
                "featureContributions": [],
                "holdout": True,
            }
    else:
        result = engine.decide(snapshot, decision_input, strategy, history)

    interaction_id = new_interaction_id()
    timestamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    parts = [
        (placement, [_decision(item, request.attributes) for item in chosen]) for placement, chosen in result.parts
    ]
    _log(tenant_id, customer_id, interaction_id, request, flow, variant, snapshot, parts, int(moment.timestamp()))

    if request.placements:
        return MultiPlacementOutput(
            placements={placement or "": _grouped(decisions) for placement, decisions in parts},
            customer_id=customer_id,
            request_id=interaction_id,
            timestamp=timestamp,
            debug_trace=result.trace,
        )
    decisions = parts[0][1]
    if flow.output is FlowOutput_.GROUPED and not flat_get:
        by_slot: dict[str, list[Decision]] = {}
        for decision in decisions:
            by_slot.setdefault(decision.placement or request.placement or "default", []).append(decision)
        return GroupedFlowOutput(
            interaction_id=interaction_id,
            customer_id=customer_id,
            timestamp=timestamp,
            placements={slot: _grouped(items) for slot, items in by_slot.items()},
            meta={
                "decisionFlowKey": flow.key,
                "decisionFlowVersion": flow.version,
                "experimentVariant": variant,
                "totalCandidates": result.total_candidates,
            },
            debug_trace=result.trace,
        )
    common = {
        "customer_id": customer_id,
        "decision_flow_key": flow.key,
        "decision_flow_version": flow.version,
        "experiment_variant": variant,
        "timestamp": timestamp,
        "channel": request.channel,
        "placement": request.placement,
        "policy_version": snapshot.policy_version,
        "count": len(decisions),
        "decisions": decisions,
        "debug_trace": result.trace,
    }
    if flat_get:
        return RecommendGetOutput(**common)
    return RecommendOutput(
        interaction_id=interaction_id,
        session_id=request.session_id,
        locale=request.locale,
        currency=request.currency,
        **common,
    )


def _log(tenant_id, customer_id, interaction_id, request, flow, variant, snapshot, parts, now: int) -> None:
    offers = [
        {
            "offerId": d.offer_id,
            "creativeId": d.creative_id,
            "category": d.category,
            "channelType": d.channel_type,
            "rank": d.rank,
            "score": d.score,
            "placement": placement,
        }
        for placement, decisions in parts
        for d in decisions
    ]
    repository.put_decision(
        interaction_id,
        tenant_id,
        customer_id,
        {
            "offers": offers,
            "decisionFlowKey": flow.key,
            "decisionFlowVersion": flow.version,
            "experimentVariant": variant,
            "policyVersion": snapshot.policy_version,
            "sessionId": request.session_id,
            "channel": request.channel,
            "context": request.context,
            "createdAt": clock.isoformat(clock.now()),
        },
        now + DECISION_LOG_TTL_SECONDS,
    )
