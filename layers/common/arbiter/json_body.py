"""Request bodies as JSON values every layer below can take (the HTTP resolver's body deserializer)."""

import json
import math
import re
import sys
from typing import Any

# Well-formed JSON that Python's decoder cannot turn into values every layer takes, refused as malformed (400)
# rather than crashing a layer below (500): nesting past the interpreter's recursion limit; numbers with no
# finite float value (float() of a 400-digit integer overflows; 1e400 reads as inf; NaN and Infinity are not
# JSON at all, and would go back out as invalid JSON); \ud800-\udfff escapes without their pair, which decode
# to strings no UTF-8 encoder (hashing, DynamoDB) accepts.
_TOO_DEEP = "Request body is JSON nested too deeply to decode"
_NUMBER_OUT_OF_RANGE = "Request body has a number outside the finite 64-bit float range (or NaN / Infinity)"
_LONE_SURROGATE = "Request body has an unpaired surrogate escape (\\ud800-\\udfff), which is not a character"
REFUSALS = (_TOO_DEEP, _NUMBER_OUT_OF_RANGE, _LONE_SURROGATE)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _NumberOutOfRange(ValueError):
    pass


def _finite_int(literal: str) -> int:
    try:
        value = int(literal)
    except ValueError as error:  # past the interpreter's 4,300-digit conversion limit
        raise _NumberOutOfRange(literal[:20]) from error
    if abs(value) > sys.float_info.max:
        raise _NumberOutOfRange(literal[:20])
    return value


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NumberOutOfRange(literal[:20])
    return value


def _no_constant(literal: str) -> Any:
    raise _NumberOutOfRange(literal)


def decode(text: str) -> Any:
    """json.loads for request bodies: what the layers below could not take fails as a JSONDecodeError, which
    the resolver's validation answers 400 like any other malformed body."""
    try:
        value = json.loads(text, parse_int=_finite_int, parse_float=_finite_float, parse_constant=_no_constant)
    except _NumberOutOfRange as error:
        raise json.JSONDecodeError(_NUMBER_OUT_OF_RANGE, text, 0) from error
    except RecursionError as error:
        raise json.JSONDecodeError(_TOO_DEEP, text, 0) from error
    if _SURROGATE_ESCAPE.search(text):  # rare: only then re-encode the whole body to find an unpaired one
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise json.JSONDecodeError(_LONE_SURROGATE, text, 0) from error
    return value
