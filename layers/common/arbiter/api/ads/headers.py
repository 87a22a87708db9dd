"""Request headers shared by Ads routes."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header

IDEMPOTENCY_KEY_MAX = 128


def idempotency_key_header(description: str) -> Any:
    """An optional `Idempotency-Key` header (1-128 characters) whose meaning for the route is `description`."""
    return Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX, description=description),
    ]
