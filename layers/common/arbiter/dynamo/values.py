"""Reading numbers out of DynamoDB items: boto3 returns Decimals, and optional attributes may be missing."""

import math
from typing import Any


def as_int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


def as_float(value: Any) -> float | None:
    """The value as a finite float, or None when it is missing or not finite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
