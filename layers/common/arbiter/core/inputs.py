"""The base of the request bodies a client configures with: an unknown field is refused (422 with its name),
never ignored, so a misspelt field cannot pass as a request that changed nothing."""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def reject_non_numbers(value: Any) -> Any:
    """BeforeValidator of a Decimal field: lax Decimal parsing would accept "70" or true; a JSON number is
    expected, so anything else is malformed (400), as for the strict integer and float fields."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PydanticCustomError("decimal_type", "Input should be a number")
    return value
