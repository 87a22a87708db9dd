"""Pure evaluation of qualification rules, contact policies and guardrails (no I/O).

Each check answers None (passes) or a human-readable reason; the engine attaches the rule/policy id.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from arbiter.core.text import label_key
from arbiter.decisions.models import (
    AppliesTo,
    Condition,
    ConditionOperator,
    ContactPolicyOutput,
    CreativeOutput,
    GuardrailOutput,
    GuardrailType,
    OfferOutput,
    PolicyScope,
    PolicyType,
    QualificationRuleOutput,
    RuleType,
)

DAY_SECONDS = 86_400


def in_scope(applies_to: AppliesTo, offer: OfferOutput) -> bool:
    if not applies_to.categories and not applies_to.offer_ids:
        return True
    return offer.id in applies_to.offer_ids or (offer.category is not None and offer.category in applies_to.categories)


def lookup(source: dict[str, Any], dotted: str) -> Any:
    """attributes/context value at a dotted path ("propensityScores.credit_card"); None when absent."""
    value: Any = source
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def same_value(actual: Any, expected: Any) -> bool:
    """JSON equality: a boolean equals only a boolean (Python's True == 1 would let `vip: 1` pass "vip equals
    true"); numbers compare by value (1 equals 1.0)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    return actual == expected


def condition_reason(condition: Condition, source: dict[str, Any]) -> str | None:
    actual = lookup(source, condition.field)
    match condition.operator:
        case ConditionOperator.EXISTS:
            return None if actual is not None else f"'{condition.field}' is missing"
        case ConditionOperator.EQUALS:
            return (
                None
                if same_value(actual, condition.value)
                else f"'{condition.field}' is {actual!r}, needs {condition.value!r}"
            )
        case ConditionOperator.IN:
            return (
                None
                if any(same_value(actual, value) for value in condition.values)
                else f"'{condition.field}' is {actual!r}, not in {condition.values}"
            )
        case ConditionOperator.RANGE:
            number = _number(actual)
            low = condition.min if condition.min is not None else float("-inf")
            high = condition.max if condition.max is not None else float("inf")
            if number is not None and low <= number <= high:
                return None
            return f"'{condition.field}' is {actual!r}, outside [{condition.min}, {condition.max}]"
    return None  # pragma: no cover - every operator is handled above


def qualification_reason(
    rule: QualificationRuleOutput, segments: frozenset[str], attributes: dict[str, Any], context: dict[str, Any]
) -> str | None:
    """Why the rule refuses the request, or None. `segments` are the request's, as label keys (core.text)."""
    match rule.type:
        case RuleType.SEGMENT_REQUIRED:
            missing = [segment for segment in rule.segments if label_key(segment) not in segments]
            return f"segment_required: missing '{missing[0]}'" if missing else None
        case RuleType.SEGMENT_EXCLUDED:
            present = [segment for segment in rule.segments if label_key(segment) in segments]
            return f"segment_excluded: has '{present[0]}'" if present else None
        case RuleType.ATTRIBUTE:
            reason = condition_reason(rule.condition, attributes)  # type: ignore[arg-type]
            return f"attribute: {reason}" if reason else None
        case RuleType.CONTEXT:
            reason = condition_reason(rule.condition, context)  # type: ignore[arg-type]
            return f"context: {reason}" if reason else None
    return None  # pragma: no cover


# --- Contact policies -----------------------------------------------------------------------------------------


def scope_value(scope: PolicyScope, offer: OfferOutput, creative: CreativeOutput) -> str | None:
    return {
        PolicyScope.OFFER: offer.id,
        PolicyScope.CREATIVE: creative.id,
        PolicyScope.CATEGORY: offer.category,
        PolicyScope.CHANNEL: creative.channel_type,
    }[scope]


_EVENT_FIELD = {PolicyScope.OFFER: "o", PolicyScope.CREATIVE: "c", PolicyScope.CATEGORY: "k", PolicyScope.CHANNEL: "ch"}


@dataclass(frozen=True, slots=True)
class PreparedPolicy:
    """A policy with the customer's history already folded in, so each candidate costs O(1)."""

    policy: ContactPolicyOutput
    counts: Counter  # scope value -> counted events in the window (frequency_cap)
    total: int  # counted events today (global_cap)
    last_trigger: dict[str, int]  # scope value -> latest trigger time (cooldown)

    def reason(self, offer: OfferOutput, creative: CreativeOutput, now: int) -> str | None:
        policy = self.policy
        if not in_scope(policy.applies_to, offer):
            return None
        if policy.type is PolicyType.GLOBAL_CAP:
            return (
                f"global_cap reached ({self.total}/{policy.max_count} today)"
                if self.total >= policy.max_count
                else None
            )  # type: ignore[operator]
        value = scope_value(policy.scope, offer, creative)
        if value is None:
            return None
        if policy.type is PolicyType.FREQUENCY_CAP:
            count = self.counts.get(value, 0)
            if count >= policy.max_count:  # type: ignore[operator]
                window = f"{policy.window_seconds}s"
                return f"frequency_cap exceeded ({count}/{policy.max_count} per {policy.scope.value} in {window})"
            return None
        triggered = self.last_trigger.get(value)
        if triggered is not None:
            until = triggered + policy.duration_seconds  # type: ignore[operator]
            triggers = "/".join(outcome.value for outcome in policy.trigger_outcomes)
            return f"cooldown after {triggers} on this {policy.scope.value} ({until - now}s left)"
        return None


def prepare_policy(policy: ContactPolicyOutput, events: list[dict[str, Any]], now: int) -> PreparedPolicy:
    counts: Counter = Counter()
    last_trigger: dict[str, int] = {}
    total = 0
    field_name = _EVENT_FIELD[policy.scope]
    counted = {outcome.value for outcome in policy.counted_outcomes}
    triggers = {outcome.value for outcome in policy.trigger_outcomes}
    day_start = now - now % DAY_SECONDS
    for event in events:
        at = int(event["ts"])
        outcome = event["t"]
        if policy.type is PolicyType.GLOBAL_CAP:
            if outcome in counted and at >= day_start:
                total += 1
        elif policy.type is PolicyType.FREQUENCY_CAP:
            if outcome in counted and at > now - policy.window_seconds and event.get(field_name) is not None:  # type: ignore[operator]
                counts[event[field_name]] += 1
        elif outcome in triggers and at > now - policy.duration_seconds and event.get(field_name) is not None:  # type: ignore[operator]
            key = event[field_name]
            last_trigger[key] = max(at, last_trigger.get(key, at))
    return PreparedPolicy(policy, counts, total, last_trigger)


# --- Guardrails -------------------------------------------------------------------------------------------


class GuardrailState:
    """Applied to ranked offers in order: `reason` says why an offer cannot be added (None = it can), `admit`
    counts an offer that was added."""

    def __init__(self, guardrails: tuple[GuardrailOutput, ...], total_slots: int):
        self.guardrails = guardrails
        self.total_slots = total_slots
        self.category_counts: Counter = Counter()
        self.offer_counts: Counter = Counter()

    def reason(self, offer: OfferOutput, score: float) -> tuple[str, str] | None:
        for guardrail in self.guardrails:
            match guardrail.type:
                case GuardrailType.MIN_SCORE if score < guardrail.min_score:  # type: ignore[operator]
                    return guardrail.id, f"min_score: {score:.4f} < {guardrail.min_score}"
                case GuardrailType.MAX_PER_CATEGORY if offer.category is not None and (
                    guardrail.category is None or guardrail.category == offer.category
                ):
                    if self.category_counts[offer.category] >= guardrail.max_count:  # type: ignore[operator]
                        return guardrail.id, f"max_per_category: {guardrail.max_count} of '{offer.category}' already"
                case GuardrailType.MAX_OFFER_SHARE:
                    allowed = max(1, int(guardrail.max_share * self.total_slots))  # type: ignore[operator]
                    if self.offer_counts[offer.id] >= allowed:
                        return guardrail.id, f"max_offer_share: already fills {allowed} of {self.total_slots} slots"
        return None

    def admit(self, offer: OfferOutput) -> None:
        if offer.category is not None:
            self.category_counts[offer.category] += 1
        self.offer_counts[offer.id] += 1

    def new_response_part(self) -> None:
        """Per-category caps count per placement; offer share counts across the whole response."""
        self.category_counts.clear()
