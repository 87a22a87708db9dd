"""Affinity models: API input, API output, and the document embedded in the campaign item."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from arbiter.core.inputs import InputModel

MAX_AFFINITIES_PER_CAMPAIGN = 50
MIN_WEIGHT = 0.1
MAX_WEIGHT = 3.0


class AffinityType(StrEnum):
    ACTION = "action"
    LOCATION = "location"
    THEME = "theme"
    MOOD = "mood"
    CATEGORY = "category"
    LIGHTING = "lighting"
    EFFECTS = "effects"
    CAMERA = "camera"


class AffinityInput(InputModel):
    affinity_type: AffinityType
    affinity_value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    weight: float = Field(default=1.0, ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False, strict=True)


class BulkAffinitiesInput(InputModel):
    """The complete new set; an empty list removes every affinity."""

    affinities: list[AffinityInput] = Field(max_length=MAX_AFFINITIES_PER_CAMPAIGN)


class AffinityDoc(BaseModel):
    """Stored at campaign.affinities.<aff_id>. weight is a Decimal: DynamoDB numbers reject floats."""

    id: str
    affinity_type: AffinityType
    affinity_value: str
    weight: Decimal
    created_at: str
    position: int  # creation order (bulk items keep the order they were sent in)


class AffinityOutput(BaseModel):
    id: str
    campaign_id: str
    affinity_type: AffinityType
    affinity_value: str
    weight: float
    created_at: str
