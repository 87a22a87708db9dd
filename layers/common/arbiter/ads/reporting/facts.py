"""What the aggregator takes from one billed impression's stream record (the NEW_IMAGE of its IMP# item)."""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from arbiter.ads.identity import length_prefixed
from arbiter.ads.reporting.keys import UNKNOWN_COUNTRY

# Scores are stored with 4 decimals (billing rounds them); sums are kept as exact integers of 1/10,000.
SCORE_SCALE = 10_000


class NotAnImpression(ValueError):
    """The record is not a billed impression (the stream filter should not have delivered it)."""


class ImpressionFact(BaseModel, frozen=True):
    impression_id: str
    campaign_id: str
    creative_id: str
    game_id: str
    advertiser_id: str
    day: str
    country_code: str
    user_key: str | None  # what unique users are counted by (unique_user_key)
    charged_millicents: int
    developer_share_millicents: int
    affinity_score_e4: int | None
    contributions_e4: dict[str, int] = Field(default_factory=dict)


def _scaled(value: Any) -> int:
    return int((Decimal(str(value)) * SCORE_SCALE).to_integral_value())


def unique_user_key(game_id: str, user_id: str | None, session_id: str | None) -> str | None:
    """The player (else the session) in the game: user_id is the game's own player id (seed: "Current player's
    user ID"), unique only within its game, so player_1 of game A and player_1 of game B are two users. Both ids
    are free-form, hence length-prefixed (arbiter.ads.identity), not joined by a separator. None when the
    impression names neither (recorded without a token)."""
    if user_id:
        return "user:" + length_prefixed(game_id, user_id)
    if session_id:
        return "session:" + length_prefixed(game_id, session_id)
    return None


def fact_from_image(image: dict[str, Any]) -> ImpressionFact:
    """`image` is the deserialized NEW_IMAGE (numbers as Decimal)."""
    if not str(image.get("PK", "")).startswith("IMP#") or "impression_id" not in image:
        raise NotAnImpression(str(image.get("PK")))
    score = image.get("affinity_score")
    return ImpressionFact(
        impression_id=image["impression_id"],
        campaign_id=image["campaign_id"],
        creative_id=image["creative_id"],
        game_id=image["game_id"],
        advertiser_id=image["advertiser_id"],
        day=image["day"],
        country_code=(image.get("country_code") or UNKNOWN_COUNTRY).upper(),
        user_key=unique_user_key(image["game_id"], image.get("user_id"), image.get("session_id")),
        charged_millicents=int(image["charged_millicents"]),
        developer_share_millicents=int(image["developer_share_millicents"]),
        affinity_score_e4=_scaled(score) if score is not None else None,
        contributions_e4={aff: _scaled(value) for aff, value in (image.get("contributions") or {}).items()},
    )
