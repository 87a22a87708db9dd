"""Creative models: API input, API output, the document embedded in the campaign item, and the pointer item."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, model_validator

from arbiter.ads.campaigns.fields import missing_field
from arbiter.core.inputs import InputModel

HOOK_MAX = 1000
ALT_HOOKS_MAX = 20
MAX_USES_PER_GAME = 20
DEFAULT_MAX_USES_PER_GAME = 3

BrandText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tagline = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
HookText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=HOOK_MAX)]


class CreativeType(StrEnum):
    NARRATIVE_HOOK = "narrative_hook"
    PRODUCT_MENTION = "product_mention"
    LOCATION_BRAND = "location_brand"
    CHARACTER_REFERENCE = "character_reference"


class Tone(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    HUMOROUS = "humorous"
    DRAMATIC = "dramatic"


class CreateCreativeInput(InputModel):
    """narrative_hook is required when creative_type is narrative_hook. Leaving it out is treated like any other
    missing required field: 400, with the field named in the detail (the seed: "missing required field")."""

    creative_type: CreativeType
    brand_name: BrandText
    product_name: BrandText | None = None
    tagline: Tagline | None = None
    narrative_hook: HookText | None = None
    alt_hooks: list[HookText] = Field(default_factory=list, max_length=ALT_HOOKS_MAX)
    tone: Tone = Tone.NEUTRAL
    max_uses_per_game: int = Field(default=DEFAULT_MAX_USES_PER_GAME, ge=1, le=MAX_USES_PER_GAME, strict=True)

    @model_validator(mode="after")
    def _narrative_hook_present_for_its_type(self) -> "CreateCreativeInput":
        if self.creative_type is CreativeType.NARRATIVE_HOOK and self.narrative_hook is None:
            raise missing_field("narrative_hook", "for creative_type 'narrative_hook'")
        return self


class UpdateCreativeInput(InputModel):
    """Partial update. product_name, tagline and narrative_hook may be set to null to clear them (the logic keeps
    narrative_hook on a narrative_hook creative); the other fields cannot be null. creative_type is fixed."""

    brand_name: BrandText | None = None
    product_name: BrandText | None = None
    tagline: Tagline | None = None
    narrative_hook: HookText | None = None
    alt_hooks: list[HookText] | None = Field(default=None, max_length=ALT_HOOKS_MAX)
    tone: Tone | None = None
    max_uses_per_game: int | None = Field(default=None, ge=1, le=MAX_USES_PER_GAME, strict=True)


CLEARABLE_CREATIVE_FIELDS = frozenset({"product_name", "tagline", "narrative_hook"})


class CreativeDoc(BaseModel):
    """Stored at campaign.creatives.<crt_id>."""

    id: str
    creative_type: CreativeType
    brand_name: str
    product_name: str | None = None
    tagline: str | None = None
    narrative_hook: str | None = None
    alt_hooks: list[str] = Field(default_factory=list)
    tone: Tone = Tone.NEUTRAL
    max_uses_per_game: int = DEFAULT_MAX_USES_PER_GAME
    created_at: str
    updated_at: str | None = None
    position: int  # creation order among siblings created in the same second


class CreativePointerItem(BaseModel):
    """Stored under PK=CREATIVE#<crt_id>, SK=CREATIVE: finds a creative's campaign for /api/ads/creatives/{id}."""

    creative_id: str
    campaign_id: str
    tenant_id: str


class CreativeOutput(BaseModel):
    id: str
    campaign_id: str
    creative_type: CreativeType
    brand_name: str
    product_name: str | None
    tagline: str | None
    narrative_hook: str | None
    alt_hooks: list[str]
    tone: Tone
    max_uses_per_game: int
    impressions: int
    created_at: str
