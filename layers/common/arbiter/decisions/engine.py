"""The decision engine: arbiter.core's pipeline applied to (offer, creative) pairs. Pure: no I/O, no clock.

Per placement: candidates are every (offer, creative) pair; named filters drop them with reasons
(offer_state, excluded, creative_match, qualification, contact_policy); the flow's scoring method scores
the rest; the core ranks them (value, then priority, then a salted hash). Ranked pairs then collapse to the
best creative per offer and pass the guardrails in rank order until the placement's limit is reached.
Multi-placement requests run placement by placement; with `deduplicate` each excludes offers already chosen.
"""

from dataclasses import dataclass, field
from typing import Any

from arbiter import clock
from arbiter.core import EligibilityFilter, RankedCandidate, Score, run_pipeline, stable_hash
from arbiter.decisions import rules, scoring
from arbiter.decisions.cache import CatalogSnapshot
from arbiter.decisions.models import CreativeOutput, OfferOutput, OfferStatus, Strategy

TOP_SCORES_IN_TRACE = 10


@dataclass(frozen=True, slots=True)
class DecisionInput:
    tenant_id: str
    customer_id: str
    now: int  # epoch seconds
    limit: int = 5
    channel: str | None = None
    channel_id: str | None = None
    placement: str | None = None
    placements: tuple[tuple[str, int], ...] = ()  # (placementId, limit) of a multi-placement request
    deduplicate: bool = False
    segments: frozenset[str] = frozenset()
    attributes: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None
    exclude_offers: frozenset[str] = frozenset()
    exclude_creatives: frozenset[str] = frozenset()
    debug: bool = False


@dataclass(frozen=True, slots=True)
class Pair:
    offer: OfferOutput
    creative: CreativeOutput
    key: str


@dataclass(frozen=True, slots=True)
class Chosen:
    rank: int
    offer: OfferOutput
    creative: CreativeOutput
    score: Score


@dataclass
class EngineResult:
    parts: list[tuple[str | None, list[Chosen]]]  # (placement or None, decisions best first)
    trace: dict[str, Any] | None  # the debugTrace (camelCase) when debug was asked for
    total_candidates: int


@dataclass
class _Context:
    request: DecisionInput
    placement: str | None
    snapshot: CatalogSnapshot
    policies: list[rules.PreparedPolicy]
    blamed: dict[str, str] = field(default_factory=dict)  # pair key -> rule/policy id that dropped it
    offer_memo: dict[tuple[str, str], str | None] = field(default_factory=dict)


def pairs_of(snapshot: CatalogSnapshot) -> list[Pair]:
    return [
        Pair(offer, creative, f"{offer.id}/{creative.id}") for offer in snapshot.offers for creative in offer.creatives
    ]


def _memo(context: _Context, name: str, offer_id: str, compute) -> str | None:
    key = (name, offer_id)
    if key not in context.offer_memo:
        context.offer_memo[key] = compute()
    return context.offer_memo[key]


def _offer_state(pair: Pair, context: _Context) -> str | None:
    def compute() -> str | None:
        offer = pair.offer
        if offer.status is not OfferStatus.ACTIVE:
            return f"offer is {offer.status.value}"
        now = context.request.now
        if offer.start_at and clock.parse_iso(offer.start_at).timestamp() > now:
            return f"offer starts at {offer.start_at}"
        if offer.end_at and clock.parse_iso(offer.end_at).timestamp() <= now:
            return f"offer ended at {offer.end_at}"
        # The expiry the decision shows its client: an offer is not handed out already expired.
        if offer.expires_at and clock.parse_iso(offer.expires_at).timestamp() <= now:
            return f"offer expired at {offer.expires_at}"
        return None

    return _memo(context, "offer_state", pair.offer.id, compute)


def _excluded(pair: Pair, context: _Context) -> str | None:
    if pair.offer.id in context.request.exclude_offers:
        return "offer excluded by request"
    if pair.creative.id in context.request.exclude_creatives:
        return "creative excluded by request"
    return None


def _creative_match(pair: Pair, context: _Context) -> str | None:
    creative, request = pair.creative, context.request
    if request.channel and creative.channel_type != request.channel:
        return f"channel {creative.channel_type} != {request.channel}"
    if request.channel_id and creative.channel_id != request.channel_id:
        return f"channelId {creative.channel_id} != {request.channel_id}"
    if context.placement and creative.placement not in (None, context.placement):
        return f"placement {creative.placement} != {context.placement}"
    if creative.locale and request.locale and creative.locale != request.locale:
        return f"locale {creative.locale} != {request.locale}"
    return None


def _qualification(pair: Pair, context: _Context) -> str | None:
    def compute() -> str | None:
        request = context.request
        for rule in context.snapshot.rules:
            if rules.in_scope(rule.applies_to, pair.offer):
                reason = rules.qualification_reason(rule, request.segments, request.attributes, request.context)
                if reason is not None:
                    return f"{rule.id}\x00{reason}"
        return None

    found = _memo(context, "qualification", pair.offer.id, compute)
    if found is None:
        return None
    rule_id, reason = found.split("\x00", 1)
    context.blamed[pair.key] = rule_id
    return reason


def _contact_policy(pair: Pair, context: _Context) -> str | None:
    for prepared in context.policies:
        reason = prepared.reason(pair.offer, pair.creative, context.request.now)
        if reason is not None:
            context.blamed[pair.key] = prepared.policy.id
            return reason
    return None


FILTERS: tuple[EligibilityFilter, ...] = (
    EligibilityFilter("offer_state", _offer_state),
    EligibilityFilter("excluded", _excluded),
    EligibilityFilter("creative_match", _creative_match),
    EligibilityFilter("qualification", _qualification),
    EligibilityFilter("contact_policy", _contact_policy),
)


def decide(
    snapshot: CatalogSnapshot,
    request: DecisionInput,
    strategy: Strategy,
    history: list[dict[str, Any]],
    *,
    pairs: list[Pair] | None = None,
) -> EngineResult:
    pairs = pairs if pairs is not None else pairs_of(snapshot)
    policies = [rules.prepare_policy(policy, history, request.now) for policy in snapshot.policies]
    tie_salt = stable_hash(0, f"{request.tenant_id}|{request.customer_id}")

    def scorer(pair: Pair, context: _Context) -> Score:
        return scoring.score(strategy, pair.offer, pair.creative, request.attributes, request.context, snapshot.stats)

    targets: list[tuple[str | None, int]] = list(request.placements) or [(request.placement, request.limit)]
    guardrails = rules.GuardrailState(snapshot.guardrails, sum(limit for _, limit in targets))
    already: set[str] = set()
    parts: list[tuple[str | None, list[Chosen]]] = []
    trace = _Trace(len(snapshot.offers)) if request.debug else None
    if trace:
        # Counted among the candidates but never a pair (pairs_of): say so rather than leave it unexplained.
        trace.other.update({offer.id: "offer has no creatives" for offer in snapshot.offers if not offer.creatives})
    for placement, limit in targets:
        context = _Context(request, placement, snapshot, policies)
        result = run_pipeline(
            pairs,
            context,
            key=lambda pair: pair.key,
            filters=FILTERS,
            scorer=scorer,
            limit=max(1, len(pairs)),
            tie_salt=tie_salt,
        )
        guardrails.new_response_part()
        chosen: list[Chosen] = []
        offers_in_part: set[str] = set()
        for ranked in result.selected:
            offer = ranked.candidate.offer
            if offer.id in offers_in_part:
                continue  # one creative per offer per placement: the best-scored one
            if request.deduplicate and offer.id in already:
                if trace:
                    trace.dropped(offer.id, "deduplicated: already returned for an earlier placement")
                continue
            refused = guardrails.reason(offer, ranked.score.value)
            if refused is not None:
                if trace:
                    trace.guardrail(offer.id, *refused)
                offers_in_part.add(offer.id)
                continue
            guardrails.admit(offer)
            offers_in_part.add(offer.id)
            chosen.append(Chosen(len(chosen) + 1, offer, ranked.candidate.creative, ranked.score))
            if len(chosen) >= limit:
                break
        already.update(item.offer.id for item in chosen)
        parts.append((placement, chosen))
        if trace:
            trace.add_run(result.rejections, result.selected, context.blamed, pairs)
    return EngineResult(parts, trace.render(parts, snapshot.policy_version) if trace else None, len(snapshot.offers))


class _Trace:
    """Collects the debugTrace over one or more placement runs (counts are of offers, not pairs)."""

    def __init__(self, total: int):
        self.total = total
        self.qualified: set[str] = set()
        self.contactable: set[str] = set()
        self.qualification: dict[str, dict[str, str]] = {}
        self.contact: dict[tuple[str, str], dict[str, str]] = {}
        self.guardrails: dict[str, dict[str, str]] = {}
        self.other: dict[str, str] = {}
        self.deduplicated: dict[str, dict[str, str]] = {}
        self.top: dict[str, float] = {}

    def add_run(
        self, rejections, selected: tuple[RankedCandidate, ...], blamed: dict[str, str], pairs: list[Pair]
    ) -> None:
        by_key = {pair.key: pair for pair in pairs} if rejections else {}
        for key, reasons in rejections.items():
            pair = by_key[key]
            reason = reasons[0]
            if reason.filter == "qualification":
                self.qualification.setdefault(
                    pair.offer.id, {"offerId": pair.offer.id, "reason": reason.reason, "policyId": blamed[key]}
                )
            elif reason.filter == "contact_policy":
                self.qualified.add(pair.offer.id)
                self.contact.setdefault(
                    (pair.offer.id, pair.creative.id),
                    {
                        "offerId": pair.offer.id,
                        "creativeId": pair.creative.id,
                        "reason": reason.reason,
                        "policyId": blamed[key],
                    },
                )
            else:
                self.other.setdefault(pair.offer.id, f"{reason.filter}: {reason.reason}")
        for ranked in selected:
            offer_id = ranked.candidate.offer.id
            self.qualified.add(offer_id)
            self.contactable.add(offer_id)
            self.top[offer_id] = max(self.top.get(offer_id, float("-inf")), ranked.score.value)

    def dropped(self, offer_id: str, reason: str) -> None:
        self.deduplicated.setdefault(offer_id, {"offerId": offer_id, "reason": reason})

    def guardrail(self, offer_id: str, guardrail_id: str, reason: str) -> None:
        self.guardrails.setdefault(offer_id, {"offerId": offer_id, "reason": reason, "policyId": guardrail_id})

    def render(self, parts: list[tuple[str | None, list[Chosen]]], policy_version: str) -> dict[str, Any]:
        top = sorted(self.top.items(), key=lambda item: (-item[1], item[0]))[:TOP_SCORES_IN_TRACE]
        seen: set[str] = set()
        contributions = []
        for _, chosen in parts:
            for item in chosen:
                if item.offer.id in seen:
                    continue
                seen.add(item.offer.id)
                details = item.score.details
                contributions.append(
                    {
                        "offerId": item.offer.id,
                        "offerName": item.offer.name,
                        "explanation": {
                            "modelType": details["modelType"],
                            "totalScore": details["totalScore"],
                            "contributions": details["contributions"],
                        },
                    }
                )
        return {
            "totalCandidates": self.total,
            "afterQualification": len(self.qualified),
            "afterContactPolicy": len(self.contactable),
            "topScores": [{"offerId": offer_id, "score": round(value, 4)} for offer_id, value in top],
            "policyVersion": policy_version,
            "qualificationReasons": [r for o, r in self.qualification.items() if o not in self.qualified],
            "contactPolicyReasons": [r for (o, _), r in self.contact.items() if o not in self.contactable],
            "guardrailReasons": list(self.guardrails.values()),
            "otherReasons": [
                {"offerId": o, "reason": r}
                for o, r in self.other.items()
                if o not in self.qualified and o not in self.qualification
            ]
            + list(self.deduplicated.values()),
            "featureContributions": contributions,
        }
