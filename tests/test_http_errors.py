"""One place maps validation and domain errors to the seed's {"detail": ...} body and status codes."""

import base64
import json
from typing import Annotated

import pytest
from aws_lambda_powertools.event_handler import Request
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from arbiter import errors
from arbiter.devstack.events import http_api_event
from arbiter.devstack.functions import LambdaContext
from arbiter.http import BUSY, ITEM_TOO_LARGE, lambda_handler_for

router = Router()


class _Body(BaseModel):
    count: int = Field(ge=1, le=10)
    kind: str = Field(pattern="^(a|b)$")


@router.post("/probe")
def probe(body: _Body) -> dict:
    return {"ok": body.count}


def _caller(request: Request) -> str:
    if request.headers.get("x-probe-key") != "good":
        raise errors.AuthenticationError("Missing or wrong X-Probe-Key")
    return "caller"


@router.post("/guarded")
def guarded(body: _Body, caller: Annotated[str, Depends(_caller)]) -> dict:
    return {"ok": body.count, "caller": caller}


@router.get("/raise/<kind>")
def raise_error(kind: str) -> dict:
    error = {
        "400": errors.BadRequestError,
        "401": errors.AuthenticationError,
        "403": errors.ForbiddenError,
        "404": errors.NotFoundError,
        "409": errors.ConflictError,
        "422": errors.BusinessRuleError,
    }.get(kind)
    if error:
        raise error(f"because {kind}")
    if kind == "429":
        raise errors.RateLimitedError("slow down", retry_after_seconds=7)
    if kind in _DYNAMODB_ERRORS:
        raise ClientError(_DYNAMODB_ERRORS[kind], "TransactWriteItems")
    raise RuntimeError("secret internal detail")


# What DynamoDB answers for a write past its 400 KB item limit (alone, in a transaction), and for another error.
_DYNAMODB_ERRORS = {
    "item-too-large": {
        "Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"}
    },
    "update-too-large-in-transaction": {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [
            {"Code": "None"},
            {"Code": "ValidationError", "Message": "Item size to update has exceeded the maximum allowed size"},
        ],
    },
    "throttled": {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
    "conflict": {"Error": {"Code": "TransactionConflictException", "Message": "Transaction is ongoing"}},
    "conflict-in-transaction": {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
    },
    "throttled-in-transaction": {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}],
    },
    "missing-table": {"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"}},
}


handler = lambda_handler_for(router)


def _call(method: str, path: str, body=None, headers=None) -> tuple[int, dict, dict]:
    result = handler(http_api_event(method, path, body=body, headers=headers), LambdaContext())
    return result["statusCode"], json.loads(result["body"]), result.get("headers", {})


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "409", "422"])
def test_domain_errors_map_to_their_status_with_detail(status):
    code, body, _ = _call("GET", f"/raise/{status}")
    assert code == int(status)
    assert body == {"detail": f"because {status}"}


def test_rate_limit_carries_retry_after():
    code, body, headers = _call("GET", "/raise/429")
    assert code == 429
    assert body == {"detail": "slow down"}
    assert headers["Retry-After"] == "7"


@pytest.mark.parametrize("kind", ["item-too-large", "update-too-large-in-transaction"])
def test_a_write_past_dynamodbs_item_limit_is_413_not_500(kind):
    code, body, _ = _call("GET", f"/raise/{kind}")
    assert (code, body) == (413, {"detail": ITEM_TOO_LARGE})


@pytest.mark.parametrize("kind", ["throttled", "conflict", "conflict-in-transaction", "throttled-in-transaction"])
def test_contention_or_throttling_that_outlasts_the_retries_is_503_with_retry_after(kind):
    # Nothing was written, and the same request may succeed a moment later: not a bug (500), a busy item
    code, body, headers = _call("GET", f"/raise/{kind}")
    assert (code, body) == (503, {"detail": BUSY})
    assert headers["Retry-After"] == "1"


def test_other_dynamodb_errors_stay_500_without_internals():
    code, body, _ = _call("GET", "/raise/missing-table")
    assert (code, body) == (500, {"detail": "Internal server error"})


def test_unexpected_errors_are_500_without_internals():
    code, body, _ = _call("GET", "/raise/boom")
    assert code == 500
    assert body == {"detail": "Internal server error"}


def test_missing_field_is_400_and_out_of_range_is_422_with_readable_detail():
    code, body, _ = _call("POST", "/probe", {"kind": "a"})
    assert code == 400
    assert body["detail"].startswith("count:")
    code, body, _ = _call("POST", "/probe", {"count": 11, "kind": "a"})
    assert code == 422
    assert body["detail"] == "count: Input should be less than or equal to 10"


def test_wrong_type_is_400():
    code, _, _ = _call("POST", "/probe", {"count": "many", "kind": "a"})
    assert code == 400


def test_authentication_is_answered_before_body_validation():
    # Given a route that needs a key, and a body that is both missing a field and out of range
    bad_body = {"count": 11}

    # When it is sent without the key, then with it
    no_key = _call("POST", "/guarded", bad_body)
    with_key = _call("POST", "/guarded", bad_body, headers={"X-Probe-Key": "good"})
    good = _call("POST", "/guarded", {"count": 2, "kind": "b"}, headers={"X-Probe-Key": "good"})

    # Then the caller is told to authenticate first, and only an authenticated caller learns about the body
    assert no_key[:2] == (401, {"detail": "Missing or wrong X-Probe-Key"})
    assert with_key[0] == 400 and with_key[1]["detail"].startswith("count:")
    assert good[:2] == (200, {"ok": 2, "caller": "caller"})


def test_unknown_route_is_404_with_detail():
    code, body, _ = _call("GET", "/nowhere")
    assert code == 404
    assert "GET /nowhere" in body["detail"]


def test_non_json_content_type_is_415_with_detail():
    code, body, _ = _call("POST", "/probe", "count=1", headers={"Content-Type": "text/plain"})
    assert code == 415
    assert "application/json" in body["detail"]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "text/csv"])
def test_form_and_multipart_bodies_are_415_before_any_parsing(content_type):
    code, body, _ = _call("POST", "/probe", "count=1&kind=a", headers={"Content-Type": content_type})
    assert code == 415
    assert content_type in body["detail"]


def test_json_with_a_charset_is_accepted():
    code, body, _ = _call(
        "POST", "/probe", '{"count": 2, "kind": "a"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert (code, body) == (200, {"ok": 2})


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; charset=UTF-8"])
def test_the_json_media_type_is_case_insensitive(content_type):
    # Media types are case-insensitive (RFC 9110): Powertools alone answered 415 to these
    code, body, _ = _call("POST", "/probe", '{"count": 2, "kind": "a"}', headers={"Content-Type": content_type})
    assert (code, body) == (200, {"ok": 2})


NUMBER_OUT_OF_RANGE = "Request body has a number outside the finite 64-bit float range (or NaN / Infinity)"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("[" * 20_000 + "]" * 20_000, "Request body is JSON nested too deeply to decode"),
        ('{"count": ' + "1" * 5000 + ', "kind": "a"}', NUMBER_OUT_OF_RANGE),  # past int()'s 4,300 digits
        ('{"count": 1, "kind": "a", "x": ' + "9" * 400 + "}", NUMBER_OUT_OF_RANGE),  # float() overflows on it
        ('{"count": 1, "kind": "a", "x": 1e400}', NUMBER_OUT_OF_RANGE),  # reads as inf
        ('{"count": 1, "kind": "a", "x": NaN}', NUMBER_OUT_OF_RANGE),  # not JSON, though Python reads it
        ('{"count": 1, "kind": "a", "x": -Infinity}', NUMBER_OUT_OF_RANGE),
    ],
    ids=["deep nesting", "5000-digit integer", "400-digit integer", "1e400", "NaN", "-Infinity"],
)
def test_json_values_no_layer_could_take_are_400_not_500(body, detail):
    code, answer, _ = _call("POST", "/probe", body)
    assert (code, answer) == (400, {"detail": detail})


def test_numbers_inside_the_float_range_are_read_as_before():
    code, answer, _ = _call("POST", "/probe", '{"count": 1, "kind": "a", "x": [1e308, -1.5e-320, ' + "9" * 300 + "]}")
    assert (code, answer) == (200, {"ok": 1})


def test_malformed_json_is_400_with_detail():
    code, answer, _ = _call("POST", "/probe", '{"count": 1,')
    assert (code, answer) == (400, {"detail": "Request body is not valid JSON"})


def test_an_unpaired_surrogate_escape_is_400_and_a_pair_is_a_character():
    # \ud800 alone decodes to a string no UTF-8 encoder takes (hashing, DynamoDB writes)
    lone = _call("POST", "/probe", '{"count": 1, "kind": "a", "note": "x\\ud800"}')
    assert lone[:2] == (
        400,
        {"detail": "Request body has an unpaired surrogate escape (\\ud800-\\udfff), which is not a character"},
    )
    # An escaped pair is one character (an emoji): accepted
    pair = _call("POST", "/probe", '{"count": 1, "kind": "a", "note": "\\ud83d\\ude00"}')
    assert pair[:2] == (200, {"ok": 1})


@pytest.mark.parametrize(("characters", "status"), [(16_000, 422), (17_000, 413)])
def test_the_body_bound_counts_bytes_not_characters(characters, status):
    # Given a JSON body of emoji sent as UTF-8 (4 bytes each): 64,000 bytes fit the 65,536-byte bound, 68,000 do not
    body = json.dumps({"count": 1, "kind": "😀" * characters}, ensure_ascii=False)
    code, answer, _ = _call("POST", "/probe", body=body, headers={"Content-Type": "application/json"})
    # Then only the one past the bound is refused for its size (the other reaches validation: kind is not a|b)
    assert code == status, answer
    if status == 413:
        assert answer == {"detail": "Request body exceeds 65536 bytes"}


@pytest.mark.parametrize(("size", "status"), [(65_536, 422), (65_537, 413)])
def test_a_base64_body_is_measured_by_its_decoded_bytes(size, status):
    # Given a JSON body of exactly `size` bytes sent base64-encoded (as API Gateway passes binary media)
    text = json.dumps({"count": 1, "kind": ""})
    body = text.replace('""', '"' + "x" * (size - len(text)) + '"')
    assert len(body.encode()) == size
    event = http_api_event("POST", "/probe", body=body, headers={"Content-Type": "application/json"})
    event.update(body=base64.b64encode(body.encode()).decode(), isBase64Encoded=True)
    result = handler(event, LambdaContext())
    # Then only a body past the bound is refused for its size (one at it reaches validation: kind is not a|b)
    assert result["statusCode"] == status, result["body"]
