"""The base of the request bodies a client configures with: an unknown field is refused (422 with its name),
never ignored, so a misspelt field cannot pass as a request that changed nothing."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from arbiter import clock

DATE_TEXT_MAX = 40


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def reject_non_numbers(value: Any) -> Any:
    """BeforeValidator of a Decimal field: lax Decimal parsing would accept "70" or true; a JSON number is
    expected, so anything else is malformed (400), as for the strict integer and float fields."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PydanticCustomError("decimal_type", "Input should be a number")
    return value


def decimal_number(*, decimal_places: int, le: Decimal | int, ge: Decimal | int | None = None, gt: int | None = None):
    """An exact Decimal input sent as a JSON number (reject_non_numbers), with at most `decimal_places` decimals,
    described in the OpenAPI document as the number it is (pydantic's own schema says "number or string")."""
    # No multipleOf: JSON Schema validators test it in binary floating point, so 19.99 "is not a multiple of 0.01".
    schema: dict[str, Any] = {
        "type": "number",
        "maximum": float(le),
        "description": f"a JSON number with at most {decimal_places} decimals",
    }
    if ge is not None:
        schema["minimum"] = float(ge)
    if gt is not None:
        schema["exclusiveMinimum"] = float(gt)
    return Annotated[
        Decimal,
        BeforeValidator(reject_non_numbers),
        Field(ge=ge, gt=gt, le=le, decimal_places=decimal_places, allow_inf_nan=False),
        WithJsonSchema(schema),
    ]


def _normalize_iso(value: str) -> str:
    try:
        moment = clock.parse_iso(value)
        text = clock.isoformat(moment)
        # Sub-second precision, when sent, is kept: 00:00:00.9 is after 00:00:00.123.
        return f"{text[:-1]}.{moment.microsecond:06d}".rstrip("0") + "Z" if moment.microsecond else text
    except ValueError:
        raise ValueError("must be an ISO 8601 date or date-time, e.g. 2026-06-01T00:00:00Z") from None


# An ISO 8601 date or date-time in any API, stored and shown as UTC with a trailing Z ("2026-06-01T00:00:00Z"):
# a bare date is its midnight, an offset is converted. 422 when it is not one.
IsoDateTime = Annotated[str, Field(min_length=1, max_length=DATE_TEXT_MAX), AfterValidator(_normalize_iso)]
