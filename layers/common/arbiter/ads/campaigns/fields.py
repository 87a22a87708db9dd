"""Field types and validation helpers shared by the campaign aggregate's input models (dates: core.inputs)."""

from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from arbiter import clock
from arbiter.core.text import normalize
from arbiter.errors import BadRequestError
from arbiter.money import impression_charge_millicents, millicents_to_cents

LABEL_MAX = 64  # one category, tag or ad category


def ensure_has_words(value: str) -> str:
    """Matching compares labels, tags and keywords as words (arbiter.core.text.normalize keeps letters and
    digits): a value of symbols alone would normalize to nothing and silently target, or block, nothing."""
    if not normalize(value):
        raise ValueError("must contain a letter or digit (values are compared as words)")
    return value


# A short, trimmed label such as a game category or a content tag, with at least one letter or digit.
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_MAX), AfterValidator(ensure_has_words)
]


def ensure_end_after_start(start_date: str | None, end_date: str | None) -> None:
    """Raises ValueError when both dates are set and the end is not strictly after the start."""
    if start_date and end_date and clock.parse_iso(end_date) <= clock.parse_iso(start_date):
        raise ValueError("end_date must be after start_date")


def ensure_limits_cover_one_impression(
    cpm_bid_cents: int, budget_millicents: int, daily_cap_millicents: int | None
) -> None:
    """Raises ValueError when the budget or the daily cap cannot pay for a single impression at the bid: such a
    campaign could be active forever and never serve."""
    price = impression_charge_millicents(cpm_bid_cents)
    for field, limit in (("budget_cents", budget_millicents), ("daily_cap_cents", daily_cap_millicents)):
        if limit is not None and limit < price:
            raise ValueError(
                f"{field} must cover at least one impression at cpm_bid_cents {cpm_bid_cents} "
                f"({millicents_to_cents(price)} cents)"
            )


def missing_field(field: str, reason: str) -> PydanticCustomError:
    """A field required only in some cases. Typed 'missing' so it answers 400, like any missing required field."""
    return PydanticCustomError("missing", "{field} is required {reason}", {"field": field, "reason": reason})


def looks_like_id(prefix: str, value: str) -> bool:
    """Whether a path id could be one of ours (`camp_…`); anything else is simply not found, and never reaches
    DynamoDB as an oversized or odd key."""
    head, _, token = value.partition("_")
    return head == prefix and 0 < len(token) <= 64 and token.isascii() and token.isalnum()


def refuse_nulls(changes: dict[str, Any], clearable: frozenset[str]) -> None:
    """A partial update may set only the optional fields to null (clearing them); nulls elsewhere are 400."""
    not_nullable = sorted(name for name, value in changes.items() if value is None and name not in clearable)
    if not_nullable:
        raise BadRequestError(f"{', '.join(not_nullable)} cannot be null")
