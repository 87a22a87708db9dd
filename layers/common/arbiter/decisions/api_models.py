"""/api/v1/recommend and /api/v1/respond: request and response models (seed 002 field names)."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from arbiter.core.inputs import IsoDateTime
from arbiter.decisions.models import ID_MAX, LIST_MAX, CamelModel, IdRef, JsonMap, Outcome, Tag
from arbiter.errors import MALFORMED

SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_LIMIT = 50
MAX_PLACEMENTS = 10


class PlacementRequest(CamelModel):
    placement_id: Tag
    limit: int = Field(default=5, ge=1, le=MAX_LIMIT, strict=True)


def _session_id(value: str | None) -> str | None:
    # Seed 002 answers an invalid sessionId format with 400, not 422: the "malformed" error type says so
    # (arbiter.http). The pattern bounds the length too, so a 65-character id is the same format error.
    if value is not None and not SESSION_ID.match(value):
        raise PydanticCustomError(
            MALFORMED,
            "sessionId must be alphanumeric (UUID format recommended, '-' and '_' allowed), at most 64 chars",
        )
    return value


class RecommendRequest(CamelModel):
    customer_id: str | None = Field(
        default=None, min_length=1, max_length=ID_MAX, description='omitted or "anonymous": derived'
    )
    channel: Tag | None = None
    channel_id: IdRef | None = None
    placement: Tag | None = None
    limit: int = Field(default=5, ge=1, le=MAX_LIMIT, strict=True)
    session_id: Annotated[str | None, AfterValidator(_session_id)] = Field(
        default=None, json_schema_extra={"maxLength": 64, "pattern": SESSION_ID.pattern}
    )
    context: JsonMap = Field(default_factory=dict)
    segments: list[Tag] = Field(default_factory=list, max_length=LIST_MAX)
    attributes: JsonMap = Field(default_factory=dict)
    locale: str | None = Field(default=None, max_length=35)
    currency: str | None = Field(default=None, max_length=10)
    placements: list[PlacementRequest] | None = Field(default=None, min_length=1, max_length=MAX_PLACEMENTS)
    deduplicate: bool = Field(default=False, strict=True)
    exclude_offers: list[IdRef] = Field(default_factory=list, max_length=LIST_MAX)
    exclude_creatives: list[IdRef] = Field(default_factory=list, max_length=LIST_MAX)
    decision_flow_key: str | None = Field(default=None, min_length=1, max_length=ID_MAX)
    debug: bool = Field(default=False, strict=True)

    @field_validator("placements")
    @classmethod
    def _unique_placements(cls, value: list[PlacementRequest] | None) -> list[PlacementRequest] | None:
        if value is not None and len({p.placement_id for p in value}) != len(value):
            raise ValueError("placementId values must be unique")
        return value


class Output(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Decision(Output):
    rank: int
    score: float
    creative_id: str
    creative_name: str
    offer_id: str
    offer_name: str
    category: str | None
    sub_category: str | None
    channel_type: str
    channel_name: str | None
    placement: str | None
    template_type: str | None
    content: dict[str, Any]
    personalization: dict[str, Any]
    ab_test_variant: str | None
    weight: int
    priority: int
    constraints: dict[str, Any]
    expires_at: str | None
    metadata: dict[str, Any]
    score_explanation: dict[str, Any]


class RecommendOutput(Output):
    """V1 flat response (POST). debugTrace only when debug=true."""

    interaction_id: str
    customer_id: str
    session_id: str | None
    decision_flow_key: str
    decision_flow_version: int
    experiment_variant: str
    timestamp: str
    channel: str | None
    placement: str | None
    policy_version: str
    locale: str | None
    currency: str | None
    count: int
    decisions: list[Decision]
    debug_trace: dict[str, Any] | None = None


class RecommendGetOutput(Output):
    """V1 flat response of GET: without interactionId, sessionId, locale and currency (seed 002)."""

    customer_id: str
    decision_flow_key: str
    decision_flow_version: int
    experiment_variant: str
    timestamp: str
    channel: str | None
    placement: str | None
    policy_version: str
    count: int
    decisions: list[Decision]
    debug_trace: dict[str, Any] | None = None


class GroupedOffer(Output):
    rank: int
    score: float
    offer_id: str
    creative: dict[str, Any]
    offer: dict[str, Any]


class PlacementGroup(Output):
    offers: list[GroupedOffer]
    count: int


class MultiPlacementOutput(Output):
    """V2 for a `placements` request; requestId is the interactionId to send to /respond."""

    placements: dict[str, PlacementGroup]
    customer_id: str
    request_id: str
    timestamp: str
    debug_trace: dict[str, Any] | None = None


class GroupedFlowOutput(Output):
    """V2 for a flow whose output is grouped."""

    interaction_id: str
    customer_id: str
    timestamp: str
    placements: dict[str, PlacementGroup]
    meta: dict[str, Any]
    debug_trace: dict[str, Any] | None = None


class RespondInput(CamelModel):
    interaction_id: str = Field(min_length=1, max_length=ID_MAX)
    offer_id: IdRef
    creative_id: IdRef | None = Field(
        default=None,
        description="the showing's creative; default: the creative the decision returned with the offer (the first "
        "placement's, when a multi-placement decision showed the offer twice)",
    )
    outcome: Outcome
    value: float = Field(default=0, ge=0, le=1e9, strict=True, description="e.g. revenue of a conversion")
    timestamp: IsoDateTime | None = Field(default=None, description="ISO 8601; default now")


class RespondOutput(Output):
    interaction_id: str
    offer_id: str
    creative_id: str | None
    outcome: Outcome
    recorded: bool = Field(description="false when this (interaction, offer, creative, outcome) was already recorded")
    timestamp: str
