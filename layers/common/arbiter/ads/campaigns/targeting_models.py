"""Geo target and blocklist rule models: API input, API output, and the documents embedded in the campaign item."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from arbiter.ads.campaigns.countries import is_country_code
from arbiter.ads.campaigns.fields import ensure_has_words, missing_field
from arbiter.core.inputs import InputModel

# Half the Earth's circumference: no radius on the globe needs more.
MAX_RADIUS_KM = 20037.5
# One metre: a smaller radius targets nobody, and it keeps radius_km inside DynamoDB's number range.
MIN_RADIUS_KM = 0.001
# Coordinates are kept to 1e-7 degrees (~1 cm); finer digits mean nothing for targeting, and a value like
# 1e-320 would fall below DynamoDB's smallest number (1e-130) and fail the write.
COORDINATE_DECIMALS = 7


def _to_coordinate_precision(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS) + 0.0  # + 0.0: -0.0 reads as 0.0


BLOCKLIST_VALUE_MAX = 200


class GeoTargetType(StrEnum):
    COUNTRY = "country"
    STATE = "state"
    CITY = "city"
    RADIUS = "radius"


LOCATION_FIELDS = ("country_code", "state_code", "city_name", "lat", "lng", "radius_km")
REQUIRED_FIELDS: dict[GeoTargetType, tuple[str, ...]] = {
    GeoTargetType.COUNTRY: ("country_code",),
    GeoTargetType.STATE: ("country_code", "state_code"),
    GeoTargetType.CITY: ("country_code", "city_name"),
    GeoTargetType.RADIUS: ("lat", "lng", "radius_km"),
}
# A city may name its state to tell apart cities that share a name (Springfield, US-IL vs US-MA).
OPTIONAL_FIELDS: dict[GeoTargetType, tuple[str, ...]] = {GeoTargetType.CITY: ("state_code",)}


def _known_country(code: str) -> str:
    if not is_country_code(code):
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_known_country)]
StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,3}(-[A-Za-z0-9]{1,3})?$", max_length=7)]
CityName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CreateGeoTargetInput(InputModel):
    """Each target_type needs its own fields; a missing one is a missing required field (400), a field the
    type does not use is refused (422) rather than silently dropped."""

    target_type: GeoTargetType
    country_code: CountryCode | None = None
    state_code: StateCode | None = None
    city_name: CityName | None = None
    lat: Annotated[float | None, AfterValidator(_to_coordinate_precision)] = Field(
        default=None, ge=-90, le=90, allow_inf_nan=False, strict=True
    )
    lng: Annotated[float | None, AfterValidator(_to_coordinate_precision)] = Field(
        default=None, ge=-180, le=180, allow_inf_nan=False, strict=True
    )
    radius_km: float | None = Field(default=None, ge=MIN_RADIUS_KM, le=MAX_RADIUS_KM, allow_inf_nan=False, strict=True)
    include: bool = Field(default=True, strict=True)

    @model_validator(mode="after")
    def _fields_match_target_type(self) -> "CreateGeoTargetInput":
        required = REQUIRED_FIELDS[self.target_type]
        for name in required:
            if getattr(self, name) is None:
                raise missing_field(name, f"for target_type '{self.target_type.value}'")
        allowed = set(required) | set(OPTIONAL_FIELDS.get(self.target_type, ()))
        unused = [name for name in LOCATION_FIELDS if name not in allowed and getattr(self, name) is not None]
        if unused:
            raise ValueError(f"{', '.join(unused)} not used by target_type '{self.target_type.value}'")
        return self


class GeoTargetDoc(BaseModel):
    """Stored at campaign.geo_targets.<geo_id>. Coordinates are Decimals: DynamoDB numbers reject floats."""

    id: str
    target_type: GeoTargetType
    country_code: str | None = None
    state_code: str | None = None
    city_name: str | None = None
    lat: Decimal | None = None
    lng: Decimal | None = None
    radius_km: Decimal | None = None
    include: bool = True
    created_at: str
    position: int  # creation order among siblings created in the same second


def _omitted_when_none() -> Any:
    # As in the seed: a country target shows country_code, not null lat/lng/radius_km/...
    return Field(default=None, exclude_if=lambda value: value is None)


class GeoTargetOutput(BaseModel):
    id: str
    campaign_id: str
    target_type: GeoTargetType
    country_code: str | None = _omitted_when_none()
    state_code: str | None = _omitted_when_none()
    city_name: str | None = _omitted_when_none()
    lat: float | None = _omitted_when_none()
    lng: float | None = _omitted_when_none()
    radius_km: float | None = _omitted_when_none()
    include: bool
    created_at: str


class BlocklistRuleType(StrEnum):
    KEYWORD = "keyword"
    THEME = "theme"
    CATEGORY = "category"
    ACTION = "action"
    GAME_ID = "game_id"


class CreateBlocklistRuleInput(InputModel):
    rule_type: BlocklistRuleType
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=BLOCKLIST_VALUE_MAX)]

    @model_validator(mode="after")
    def _comparable(self) -> "CreateBlocklistRuleInput":
        if self.rule_type is not BlocklistRuleType.GAME_ID:  # game ids compare exactly, not as words
            ensure_has_words(self.value)
        return self


class BlocklistRuleDoc(BaseModel):
    """Stored at campaign.blocklist.<blk_id>."""

    id: str
    rule_type: BlocklistRuleType
    value: str
    created_at: str
    position: int


class BlocklistRuleOutput(BaseModel):
    id: str
    campaign_id: str
    rule_type: BlocklistRuleType
    value: str
    created_at: str
