"""Decision catalog models: API input, API output and stored item (camelCase on the wire, like seed 002)."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic.alias_generators import to_camel

from arbiter.core.inputs import IsoDateTime

NAME_MAX = 200
ID_MAX = 64
TAG_MAX = 100
LIST_MAX = 100
METADATA_MAX_KEYS = 50
TEXT_MAX = 20_000

Tag = Annotated[str, Field(min_length=1, max_length=TAG_MAX)]
IdRef = Annotated[str, Field(min_length=1, max_length=ID_MAX)]
FlowKey = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


def _bounded_map(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(value) > METADATA_MAX_KEYS:
        raise ValueError(f"at most {METADATA_MAX_KEYS} keys")
    if value is not None and len(str(value)) > TEXT_MAX:
        raise ValueError(f"at most {TEXT_MAX} characters when serialised")
    return value


# A free-form JSON object with bounded size (content, personalization, constraints, metadata, attributes).
JsonMap = Annotated[dict[Annotated[str, Field(max_length=TAG_MAX)], JsonValue], AfterValidator(_bounded_map)]


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CamelOutput(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- Offers and creatives -------------------------------------------------------------------------------


class OfferStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class CreativeInput(CamelModel):
    id: IdRef | None = Field(
        default=None,
        description="only in a PUT of the offer: the id of one of its creatives, which keeps that id (and the contact "
        "history counted against it); a creative without an id gets a new one",
    )
    name: str = Field(min_length=1, max_length=NAME_MAX)
    channel_type: Tag = Field(description="e.g. email, sms, web, in_game")
    channel_name: str | None = Field(default=None, max_length=NAME_MAX)
    channel_id: IdRef | None = Field(default=None, description="matches the request's channelId")
    placement: Tag | None = Field(default=None, description="placement slot, e.g. hero_banner; null = any slot")
    template_type: Tag | None = None
    content: JsonMap = Field(default_factory=dict, description="subject, body, imageUrl, ...")
    personalization: JsonMap = Field(default_factory=dict, description="template fields, e.g. {{customer_name}}")
    constraints: JsonMap = Field(default_factory=dict)
    weight: int = Field(default=100, ge=0, le=100, strict=True, description="0-100; multiplies the offer's score")
    ab_test_variant: str | None = Field(default=None, max_length=TAG_MAX)
    locale: str | None = Field(default=None, max_length=35, description="served only to requests of this locale")


class CreativeOutput(CamelOutput):
    id: str
    offer_id: str
    name: str
    channel_type: str
    channel_name: str | None
    channel_id: str | None
    placement: str | None
    template_type: str | None
    content: dict[str, Any]
    personalization: dict[str, Any]
    constraints: dict[str, Any]
    weight: int
    ab_test_variant: str | None
    locale: str | None
    created_at: str


class OfferInput(CamelModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    category: Tag | None = None
    sub_category: Tag | None = None
    priority: int = Field(default=50, ge=0, le=100, strict=True, description="0-100")
    weight: int = Field(default=100, ge=0, le=100, strict=True, description="0-100")
    value: float = Field(
        default=0, ge=0, le=1e9, strict=True, description="price or margin, used by value-aware guardrails"
    )
    propensity_key: Tag | None = Field(
        default=None, description="key of attributes.propensityScores that gives this offer's fit (default: offer id)"
    )
    start_at: IsoDateTime | None = Field(default=None, description="ISO 8601; not served before")
    end_at: IsoDateTime | None = Field(default=None, description="ISO 8601; not served from then on")
    expires_at: IsoDateTime | None = Field(default=None, description="ISO 8601; shown to clients, not served after")
    status: OfferStatus = OfferStatus.ACTIVE
    metadata: JsonMap = Field(default_factory=dict)
    creatives: list[CreativeInput] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _dates(self) -> "OfferInput":
        from arbiter import clock

        if self.start_at and self.end_at and clock.parse_iso(self.end_at) <= clock.parse_iso(self.start_at):
            raise ValueError("endAt must be after startAt")
        return self


class OfferOutput(CamelOutput):
    id: str
    name: str
    category: str | None
    sub_category: str | None
    priority: int
    weight: int
    value: float
    propensity_key: str | None
    start_at: str | None
    end_at: str | None
    expires_at: str | None
    status: OfferStatus
    metadata: dict[str, Any]
    creatives: list[CreativeOutput]
    created_at: str
    updated_at: str


class OfferListOutput(CamelOutput):
    offers: list[OfferOutput]
    count: int


class CreativeListOutput(CamelOutput):
    creatives: list[CreativeOutput]
    count: int


# --- Scope shared by rules and policies -------------------------------------------------------------------


class AppliesTo(CamelModel):
    """Which offers a rule or policy covers: all (both lists empty), some categories, or listed offers."""

    categories: list[Tag] = Field(default_factory=list, max_length=LIST_MAX)
    offer_ids: list[IdRef] = Field(default_factory=list, max_length=LIST_MAX)


# --- Qualification rules ------------------------------------------------------------------------------------


class RuleType(StrEnum):
    SEGMENT_REQUIRED = "segment_required"
    SEGMENT_EXCLUDED = "segment_excluded"
    ATTRIBUTE = "attribute"
    CONTEXT = "context"


class ConditionOperator(StrEnum):
    EQUALS = "equals"
    IN = "in"
    RANGE = "range"
    EXISTS = "exists"


# Strict members: lax validation turned true into 1 (and "1" into True with bool first); a rule keeps the type its
# author wrote, and rules.same_value never equates a boolean with a number.
Scalar = StrictBool | StrictStr | StrictInt | StrictFloat


class Condition(CamelModel):
    """attribute/context rules: `field` is a dotted path into attributes (e.g. propensityScores.credit_card)
    or context (device, location)."""

    field: str = Field(min_length=1, max_length=TAG_MAX)
    operator: ConditionOperator
    value: Annotated[Scalar, Field(union_mode="left_to_right")] | None = None
    values: list[Annotated[Scalar, Field(union_mode="left_to_right")]] = Field(
        default_factory=list, max_length=LIST_MAX
    )
    min: float | None = Field(default=None, strict=True)
    max: float | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _operands(self) -> "Condition":
        if self.operator is ConditionOperator.EQUALS and self.value is None:
            raise ValueError("equals needs value")
        if self.operator is ConditionOperator.IN and not self.values:
            raise ValueError("in needs values")
        if self.operator is ConditionOperator.RANGE and self.min is None and self.max is None:
            raise ValueError("range needs min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("range min must not exceed max")
        return self


class QualificationRuleInput(CamelModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    type: RuleType
    segments: list[Tag] = Field(default_factory=list, max_length=LIST_MAX, description="segment_* rules")
    condition: Condition | None = Field(default=None, description="attribute and context rules")
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    enabled: bool = Field(default=True, strict=True)

    @model_validator(mode="after")
    def _shape(self) -> "QualificationRuleInput":
        if self.type in (RuleType.SEGMENT_REQUIRED, RuleType.SEGMENT_EXCLUDED) and not self.segments:
            raise ValueError(f"{self.type.value} needs segments")
        if self.type in (RuleType.ATTRIBUTE, RuleType.CONTEXT) and self.condition is None:
            raise ValueError(f"{self.type.value} needs a condition")
        return self


class QualificationRuleOutput(QualificationRuleInput):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    id: str
    created_at: str


# --- Contact policies ---------------------------------------------------------------------------------------


class PolicyType(StrEnum):
    FREQUENCY_CAP = "frequency_cap"
    COOLDOWN = "cooldown"
    GLOBAL_CAP = "global_cap"


class PolicyScope(StrEnum):
    OFFER = "offer"
    CREATIVE = "creative"
    CATEGORY = "category"
    CHANNEL = "channel"


class Outcome(StrEnum):
    IMPRESSION = "impression"
    CLICK = "click"
    ACCEPT = "accept"
    CONVERT = "convert"
    DISMISS = "dismiss"


POSITIVE_OUTCOMES = frozenset({Outcome.CLICK, Outcome.ACCEPT, Outcome.CONVERT})
MAX_WINDOW_SECONDS = 90 * 86400  # contact history keeps 90 days
# ... and its newest 500 events (respond trims it to these): a cap counting more could never be reached.
HISTORY_MAX_EVENTS = 500


class ContactPolicyInput(CamelModel):
    """frequency_cap: at most maxCount counted outcomes per customer per scope within windowSeconds.
    cooldown: no offer of the scope for durationSeconds after one of triggerOutcomes (dismiss, convert).
    global_cap: at most maxCount counted outcomes per customer over all offers per UTC day."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    type: PolicyType
    scope: PolicyScope = PolicyScope.OFFER
    max_count: int | None = Field(default=None, ge=1, le=HISTORY_MAX_EVENTS, strict=True)
    window_seconds: int | None = Field(default=None, ge=1, le=MAX_WINDOW_SECONDS, strict=True)
    duration_seconds: int | None = Field(default=None, ge=1, le=MAX_WINDOW_SECONDS, strict=True)
    counted_outcomes: list[Outcome] = Field(default_factory=lambda: [Outcome.IMPRESSION], min_length=1, max_length=5)
    trigger_outcomes: list[Outcome] = Field(default_factory=lambda: [Outcome.DISMISS], min_length=1, max_length=5)
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    enabled: bool = Field(default=True, strict=True)

    @model_validator(mode="after")
    def _shape(self) -> "ContactPolicyInput":
        if self.type is PolicyType.FREQUENCY_CAP and (self.max_count is None or self.window_seconds is None):
            raise ValueError("frequency_cap needs maxCount and windowSeconds")
        if self.type is PolicyType.COOLDOWN and self.duration_seconds is None:
            raise ValueError("cooldown needs durationSeconds")
        if self.type is PolicyType.GLOBAL_CAP and self.max_count is None:
            raise ValueError("global_cap needs maxCount")
        return self


class ContactPolicyOutput(ContactPolicyInput):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    id: str
    created_at: str


# --- Guardrails ---------------------------------------------------------------------------------------------


class GuardrailType(StrEnum):
    MAX_PER_CATEGORY = "max_per_category"
    MIN_SCORE = "min_score"
    MAX_OFFER_SHARE = "max_offer_share"


class GuardrailInput(CamelModel):
    """max_per_category: at most maxCount offers of one category (or of `category`) per placement list.
    min_score: drop decisions scoring below minScore. max_offer_share: in a multi-placement response, one
    offer fills at most maxShare of the returned slots (matters when deduplicate is false)."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    type: GuardrailType
    category: Tag | None = None
    max_count: int | None = Field(default=None, ge=1, le=50, strict=True)
    min_score: float | None = Field(default=None, ge=0, le=1e6, strict=True)
    max_share: float | None = Field(default=None, gt=0, le=1, strict=True)
    enabled: bool = Field(default=True, strict=True)

    @model_validator(mode="after")
    def _shape(self) -> "GuardrailInput":
        needed = {
            GuardrailType.MAX_PER_CATEGORY: ("max_count", self.max_count),
            GuardrailType.MIN_SCORE: ("min_score", self.min_score),
            GuardrailType.MAX_OFFER_SHARE: ("max_share", self.max_share),
        }[self.type]
        if needed[1] is None:
            raise ValueError(f"{self.type.value} needs {to_camel(needed[0])}")
        return self


class GuardrailOutput(GuardrailInput):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    id: str
    created_at: str


# --- Decision flows -----------------------------------------------------------------------------------------


class ScoringMethod(StrEnum):
    PRIORITY_WEIGHTED = "priority_weighted"
    SCORECARD = "scorecard"
    PROPENSITY = "propensity"  # learned from /respond outcomes (Beta-Binomial posterior mean)


class ScorecardEntry(CamelModel):
    """Adds `points` to an offer's score when `condition` holds for the request (optionally only for some offers)."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    condition: Condition
    points: float = Field(ge=-1000, le=1000, strict=True)
    applies_to: AppliesTo = Field(default_factory=AppliesTo)


class Strategy(CamelModel):
    scoring_method: ScoringMethod = ScoringMethod.PRIORITY_WEIGHTED
    scorecard: list[ScorecardEntry] = Field(default_factory=list, max_length=LIST_MAX)
    # Prior of the learned model: an offer without outcomes scores priorPositives / (priorPositives + priorNegatives).
    prior_positives: float = Field(default=1, gt=0, le=1000, strict=True)
    prior_negatives: float = Field(default=9, gt=0, le=1000, strict=True)


class Experiment(CamelModel):
    """Customers split by a hash of (flow key, customerId): [0, holdout) holdout (no offers), then challenger."""

    challenger: Strategy
    challenger_share: float = Field(ge=0, le=1, strict=True)
    holdout_share: float = Field(default=0, ge=0, le=0.5, strict=True)

    @model_validator(mode="after")
    def _shares(self) -> "Experiment":
        if self.challenger_share + self.holdout_share > 1:
            raise ValueError("challengerShare + holdoutShare must be at most 1")
        return self


class FlowRouting(CamelModel):
    """Picks this flow when decisionFlowKey is omitted: every non-empty list must match; highest priority wins."""

    channels: list[Tag] = Field(default_factory=list, max_length=LIST_MAX)
    placements: list[Tag] = Field(default_factory=list, max_length=LIST_MAX)
    segments: list[Tag] = Field(default_factory=list, max_length=LIST_MAX, description="any one of them")
    priority: int = Field(default=0, ge=0, le=1000, strict=True)


class FlowOutput_(StrEnum):
    FLAT = "flat"
    GROUPED = "grouped"


class DecisionFlowInput(CamelModel):
    """Posting an existing key publishes its next version (the previous one is kept in history)."""

    key: FlowKey
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str | None = Field(default=None, max_length=2000)
    champion: Strategy = Field(default_factory=Strategy)
    experiment: Experiment | None = None
    routing: FlowRouting | None = None
    is_default: bool = Field(default=False, strict=True, description="used when no routing rule matches")
    output: FlowOutput_ = Field(default=FlowOutput_.FLAT, description="grouped: V2 response grouped by placement")


class DecisionFlowOutput(DecisionFlowInput):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    version: int
    created_at: str


class QualificationRuleListOutput(CamelOutput):
    rules: list[QualificationRuleOutput]
    count: int


class ContactPolicyListOutput(CamelOutput):
    policies: list[ContactPolicyOutput]
    count: int


class GuardrailListOutput(CamelOutput):
    guardrails: list[GuardrailOutput]
    count: int


class DecisionFlowListOutput(CamelOutput):
    flows: list[DecisionFlowOutput]
    count: int
