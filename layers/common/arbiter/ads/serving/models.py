"""/match models: the seed's request (every string and list bounded) and its 200 response."""

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from arbiter.ads.placements.models import GAME_ID_PATTERN

ID_MAX = 128
TEXT_MAX = 100  # theme, category, location, state and city names
NARRATIVE_MAX = 4000
TAG_MAX = 64
MAX_MOOD_TAGS = 20
ACTION_MAX = 100
MAX_ACTIONS = 50

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)]
MoodTag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TAG_MAX)]
Action = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ACTION_MAX)]
CallerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=ID_MAX)]


class PlayerGeoInput(BaseModel):
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None
    state_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8)] | None = None
    city_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)] | None = None
    # Unknown keys are ignored (MatchInput), but a coordinate of the wrong type is refused: true or "1" is not a
    # place, and radius targeting must not run on a point the game never sent.
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False, strict=True)
    lng: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False, strict=True)


class GameContextInput(BaseModel):
    theme_id: ShortText | None = None
    category: ShortText | None = None
    narrative: Annotated[str, StringConstraints(max_length=NARRATIVE_MAX)] | None = None
    mood_tags: list[MoodTag] = Field(default_factory=list, max_length=MAX_MOOD_TAGS)
    location: ShortText | None = None
    actions: list[Action] = Field(default_factory=list, max_length=MAX_ACTIONS)


class MatchInput(BaseModel):
    """The one Ads body that ignores unknown fields (the others are InputModels, 422): game servers call /match
    in real time with scene data, and a key the engine does not read must not cost a game its ad."""

    game_id: Annotated[str, StringConstraints(pattern=GAME_ID_PATTERN)]
    user_id: CallerId
    player_geo: PlayerGeoInput | None = None
    game_context: GameContextInput
    session_id: CallerId | None = None


class MatchOutput(BaseModel):
    """The seed's fields, then the signed token /impressions takes instead of trusting the caller's ids."""

    campaign_id: str
    creative_id: str
    narrative_hook: str | None
    creative_type: str
    brand_name: str
    product_name: str | None
    tagline: str | None
    tone: str
    biased_pipeline: dict[str, str]
    affinity_score: float
    cpm_bid_cents: int
    impression_token: str
