"""Game offer models (snake_case like seed 000): catalog input/output/item, recommend and feedback bodies.

Money: `price_usd` and `revenue_usd` are JSON numbers with at most 2 decimals (cents) on the wire and integer
millicents in storage (docs/decisions.md D3), so 9.99 is stored as 999000 and answered as 9.99 exactly.
"""

import json
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, JsonValue, PlainSerializer, model_validator

from arbiter import clock
from arbiter.core.inputs import InputModel, IsoDateTime, decimal_number

MILLICENTS_PER_USD = 100_000
MAX_PRICE_USD = Decimal(10_000)
MAX_REVENUE_USD = Decimal(100_000)

# Client-chosen ids (a game's own SKU names, e.g. "summer_blade_bundle", "ool-mmo").
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
ID_MAX = 64
PLAYER_ID_MAX = 128
NAME_MAX = 200
TAG_MAX = 100
MAX_GRANTS = 20
MAX_SEGMENTS = 50
MAX_INVENTORY_GAPS = 50
MAX_RESULTS = 50
MAX_CONTEXT_KEYS = 50
MAX_CONTEXT_CHARS = 4_096
MAX_LEVEL = 1_000_000
MAX_LIMIT_COUNT = 1_000

GameId = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
OfferId = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
PlayerId = Annotated[str, Field(min_length=1, max_length=PLAYER_ID_MAX)]
Tag = Annotated[str, Field(min_length=1, max_length=TAG_MAX)]


def usd_to_millicents(amount: Decimal) -> int:
    return int(amount * MILLICENTS_PER_USD)


def millicents_to_usd(millicents: int) -> Decimal:
    usd = Decimal(millicents) / MILLICENTS_PER_USD
    return usd.quantize(Decimal(1)) if usd == usd.to_integral_value() else usd.normalize()


def _usd_json(value: Decimal) -> int | float:
    # At most 2 decimals and far fewer than 15 significant digits: the float prints exactly as the decimal.
    return int(value) if value == value.to_integral_value() else float(value)


# A USD amount in a response: exact Decimal in Python, a JSON number on the wire (9.99, 5).
Usd = Annotated[Decimal, PlainSerializer(_usd_json, return_type=int | float, when_used="json")]


def _bounded_context(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > MAX_CONTEXT_CHARS:
        raise ValueError(f"at most {MAX_CONTEXT_CHARS} characters when serialised")
    # The keys eligibility and the learner read have the seed's types; any other key is the game's own. A level
    # sent as "34" would otherwise read as no level and silently drop every level-gated offer.
    for key in ("level", "minutes_played"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], int | float)):
            raise ValueError(f"{key} must be a number")
    if "segment" in value and not isinstance(value["segment"], str):
        raise ValueError("segment must be a string")
    return value


# --- Catalog ---------------------------------------------------------------------------------------------


class GameOfferStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class EligibilityInput(InputModel):
    segments: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_SEGMENTS,
        description="session_context.segment must be one of these (case-insensitive); empty = every segment",
    )
    min_level: int | None = Field(
        default=None, ge=0, le=MAX_LEVEL, strict=True, description="session_context.level >= this"
    )
    max_level: int | None = Field(
        default=None, ge=0, le=MAX_LEVEL, strict=True, description="session_context.level <= this"
    )

    @model_validator(mode="after")
    def _level_range(self) -> "EligibilityInput":
        if self.min_level is not None and self.max_level is not None and self.min_level > self.max_level:
            raise ValueError("min_level must not exceed max_level")
        return self


class PlayerLimitsInput(InputModel):
    max_purchases: int | None = Field(
        default=None,
        ge=1,
        le=MAX_LIMIT_COUNT,
        strict=True,
        description="conversions per player, ever (e.g. 1 for a starter pack)",
    )
    max_impressions_per_day: int | None = Field(
        default=None,
        ge=1,
        le=MAX_LIMIT_COUNT,
        strict=True,
        description="recommendations of this offer per player per 24 h",
    )


class GameOfferFields(InputModel):
    """Everything of an offer but its id (the PUT body; POST adds `offer_id`)."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    price_usd: decimal_number(gt=0, le=MAX_PRICE_USD, decimal_places=2) = Field(  # type: ignore[valid-type]
        description="USD, at most 2 decimals"
    )
    grants: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_GRANTS,
        description="items and categories the offer grants; matched against the request's inventory_gaps",
    )
    eligibility: EligibilityInput = Field(default_factory=EligibilityInput)
    limits: PlayerLimitsInput = Field(default_factory=PlayerLimitsInput)
    starts_at: IsoDateTime | None = Field(default=None, description="ISO 8601; not recommended before")
    ends_at: IsoDateTime | None = Field(default=None, description="ISO 8601; not recommended from then on")
    status: GameOfferStatus = GameOfferStatus.ACTIVE

    @model_validator(mode="after")
    def _window(self) -> "GameOfferFields":
        if self.starts_at and self.ends_at and clock.parse_iso(self.ends_at) <= clock.parse_iso(self.starts_at):
            raise ValueError("ends_at must be after starts_at")
        return self


class CreateGameOfferInput(GameOfferFields):
    offer_id: OfferId = Field(description="the game's own id for the offer, unique within the game")


class EligibilityOutput(BaseModel):
    segments: list[str]
    min_level: int | None
    max_level: int | None


class PlayerLimitsOutput(BaseModel):
    max_purchases: int | None
    max_impressions_per_day: int | None


class GameOfferOutput(BaseModel):
    game_id: str
    offer_id: str
    name: str
    price_usd: Usd
    grants: list[str]
    eligibility: EligibilityOutput
    limits: PlayerLimitsOutput
    starts_at: str | None
    ends_at: str | None
    status: GameOfferStatus
    created_at: str
    updated_at: str


class GameOfferListOutput(BaseModel):
    offers: list[GameOfferOutput]
    count: int


class GameOfferItem(BaseModel):
    """The stored offer (campaigns table `body`): money in millicents, timestamps as issued."""

    game_id: str
    offer_id: str
    name: str
    price_millicents: int
    grants: list[str]
    segments: list[str]
    min_level: int | None
    max_level: int | None
    max_purchases: int | None
    max_impressions_per_day: int | None
    starts_at: str | None
    ends_at: str | None
    status: GameOfferStatus
    created_at: str
    updated_at: str

    @property
    def price_usd(self) -> float:
        return self.price_millicents / MILLICENTS_PER_USD

    @classmethod
    def from_fields(cls, game_id: str, offer_id: str, fields: GameOfferFields, created_at: str, now: str):
        return cls(
            game_id=game_id,
            offer_id=offer_id,
            name=fields.name,
            price_millicents=usd_to_millicents(fields.price_usd),
            grants=list(dict.fromkeys(fields.grants)),
            segments=list(dict.fromkeys(fields.eligibility.segments)),
            min_level=fields.eligibility.min_level,
            max_level=fields.eligibility.max_level,
            max_purchases=fields.limits.max_purchases,
            max_impressions_per_day=fields.limits.max_impressions_per_day,
            starts_at=fields.starts_at,
            ends_at=fields.ends_at,
            status=fields.status,
            created_at=created_at,
            updated_at=now,
        )

    def to_output(self) -> GameOfferOutput:
        return GameOfferOutput(
            game_id=self.game_id,
            offer_id=self.offer_id,
            name=self.name,
            price_usd=millicents_to_usd(self.price_millicents),
            grants=self.grants,
            eligibility=EligibilityOutput(segments=self.segments, min_level=self.min_level, max_level=self.max_level),
            limits=PlayerLimitsOutput(
                max_purchases=self.max_purchases, max_impressions_per_day=self.max_impressions_per_day
            ),
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


# --- Recommend and feedback (seed 000 bodies) -------------------------------------------------------------


class RecommendInput(InputModel):
    game_id: GameId
    player_id: PlayerId
    session_context: Annotated[
        dict[Annotated[str, Field(max_length=TAG_MAX)], JsonValue], AfterValidator(_bounded_context)
    ] = Field(
        max_length=MAX_CONTEXT_KEYS,
        description="free-form session metadata: level, minutes_played, segment and anything else the game sends "
        f"(at most {MAX_CONTEXT_KEYS} keys, {MAX_CONTEXT_CHARS} characters as JSON)",
    )
    inventory_gaps: list[Tag] = Field(
        default_factory=list, max_length=MAX_INVENTORY_GAPS, description="items or categories the player is missing"
    )
    max_results: int = Field(default=5, ge=1, le=MAX_RESULTS, strict=True, description="1-50, default 5")


class RecommendedOffer(BaseModel):
    offer_id: str
    score: float = Field(
        ge=0,
        le=1,
        description="the model's expected revenue of showing the offer (P(convert) x price) divided by the highest "
        "price among the eligible offers: 0..1; score x that price = expected USD revenue",
    )
    rank: int = Field(ge=1, description="1..n, the learner's (Thompson-sampled) order")


class FeedbackOutcome(StrEnum):
    CONVERTED = "converted"
    DISMISSED = "dismissed"
    EXPIRED = "expired"


class FeedbackInput(InputModel):
    game_id: GameId
    player_id: PlayerId
    offer_id: Annotated[str, Field(min_length=1, max_length=ID_MAX)]
    outcome: FeedbackOutcome
    interaction_id: Annotated[str, Field(min_length=1, max_length=ID_MAX)] | None = Field(
        default=None,
        description="optional: the X-Interaction-Id of the recommendation that showed the offer. With it the report "
        "applies to that showing, so a retry is a duplicate even after the offer was shown again; without it, to the "
        "player's most recent showing of the offer",
    )
    revenue_usd: decimal_number(ge=0, le=MAX_REVENUE_USD, decimal_places=2) | None = Field(  # type: ignore[valid-type]
        default=None, description="required when outcome is converted; not allowed above 0 otherwise"
    )

    @model_validator(mode="after")
    def _revenue(self) -> "FeedbackInput":
        if self.outcome is FeedbackOutcome.CONVERTED and self.revenue_usd is None:
            raise ValueError("revenue_usd is required when outcome is converted")
        if self.outcome is not FeedbackOutcome.CONVERTED and self.revenue_usd:
            raise ValueError("revenue_usd is only allowed for a converted outcome")
        return self


class FeedbackOutput(BaseModel):
    status: str = Field(description='always "ok" (seed 000); see the X-Feedback-* headers for what happened')
