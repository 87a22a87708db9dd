"""HTTP glue shared by every API function: one resolver factory, one error mapping, one Lambda entry point.

Every error leaves as the seeds' body `{"detail": "Human-readable error message"}` with the status below.
"""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import (
    DependencyResolutionError,
    build_dependency_tree,
    solve_dependencies,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from arbiter import errors, json_body, ratelimit
from arbiter.auth.credentials import Credential
from arbiter.dynamo import is_item_too_large, is_transient
from arbiter.observability import logger, metrics, tracer
from arbiter.ratelimit import RateLimitClass
from arbiter.settings import get_settings

STATUS_BY_ERROR: dict[type[errors.ArbiterError], HTTPStatus] = {
    errors.BadRequestError: HTTPStatus.BAD_REQUEST,
    errors.AuthenticationError: HTTPStatus.UNAUTHORIZED,
    errors.ForbiddenError: HTTPStatus.FORBIDDEN,
    errors.NotFoundError: HTTPStatus.NOT_FOUND,
    errors.ConflictError: HTTPStatus.CONFLICT,
    errors.PayloadTooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    errors.BusinessRuleError: HTTPStatus.UNPROCESSABLE_ENTITY,
    errors.RateLimitedError: HTTPStatus.TOO_MANY_REQUESTS,
    errors.ServiceBusyError: HTTPStatus.SERVICE_UNAVAILABLE,
}

ITEM_TOO_LARGE = (
    "This request would make a stored record larger than DynamoDB's 400 KB item limit; send less (fewer or "
    "shorter texts)"
)

BUSY = "The data this request needs is busy with other requests; nothing was changed, retry shortly"

# Pydantic error types that mean "malformed request" (400) rather than "well-formed but out of range" (422).
_MALFORMED_ERROR_TYPES = {
    "missing",
    "json_invalid",
    "json_type",
    "model_attributes_type",
    "dict_type",
    "model_type",
    errors.MALFORMED,
}


def error_response(status: HTTPStatus | int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body={"detail": detail},
        headers=headers,
    )


def status_of(error: errors.ArbiterError) -> HTTPStatus:
    return next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(error, kind)), HTTPStatus.BAD_REQUEST)


def headers_of(error: errors.ArbiterError) -> dict[str, str] | None:
    if isinstance(error, errors.RateLimitedError | errors.ServiceBusyError):
        return {"Retry-After": str(error.retry_after_seconds)}
    return None


def _error_result(status: HTTPStatus | int, detail: str, headers: dict[str, str] | None = None) -> dict:
    """A finished Lambda result for answers given before the resolver runs (413, 415, 429)."""
    return {
        "statusCode": int(status),
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **(headers or {})},
        "body": json.dumps({"detail": detail}),
        "isBase64Encoded": False,
    }


def _is_malformed(error: dict[str, Any]) -> bool:
    kind = error.get("type", "")
    return kind in _MALFORMED_ERROR_TYPES or kind.endswith("_type") or kind.endswith("_parsing")


def describe_validation_errors(validation_errors: list[dict[str, Any]]) -> str:
    """'cpm_bid_cents: Input should be less than or equal to 10000' — field path without the 'body' prefix."""
    parts = []
    for error in validation_errors:
        if error.get("type") == "json_invalid":
            # Its location is the character offset of the syntax error, not a field.
            refusal = (error.get("ctx") or {}).get("error")
            parts.append(refusal if refusal in json_body.REFUSALS else "Request body is not valid JSON")
            continue
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        field = ".".join(location) or "body"
        message = error.get("msg") or error.get("type", "invalid value")
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def validated_body[M: BaseModel](model: type[M], body: str | None) -> M:
    """A route's JSON body parsed by hand (where the route must answer before Powertools' validation runs) as
    the resolver would: refused by the same decoder (json_body.decode, 400) and validated by the model, with
    the same RequestValidationError the error mapping answers."""
    try:
        value = json_body.decode(body or "")
    except json.JSONDecodeError as error:
        invalid = {"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([{**invalid, "ctx": {"error": error.msg}}]) from error
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from error


def _validation_status(validation_errors: list[dict[str, Any]]) -> HTTPStatus:
    if any(_is_malformed(error) for error in validation_errors):
        return HTTPStatus.BAD_REQUEST
    return HTTPStatus.UNPROCESSABLE_ENTITY


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    # Only application/json: Powertools parses no other type (a "+json" one got past this check to its 415).
    return media_type == "application/json"


def _unsupported_body_response(event: dict) -> dict | None:
    """415 for a body sent as anything but JSON, before Powertools tries to parse it as a form or multipart."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type")
    if not event.get("body") or content_type is None or is_json_media_type(content_type):
        return None
    return _error_result(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be application/json (got {content_type[:100]})"
    )


def _with_canonical_json_media_type(event: dict) -> dict:
    """Media types are case-insensitive (RFC 9110), but Powertools only parses a lowercase "application/json":
    "APPLICATION/JSON; charset=utf-8" is passed on as "application/json; charset=utf-8"."""
    headers = event.get("headers") or {}
    name = next((key for key in headers if key.lower() == "content-type"), None)
    if name is None or not is_json_media_type(headers[name]):
        return event
    _, separator, parameters = headers[name].partition(";")
    return {**event, "headers": {**headers, name: "application/json" + separator + parameters}}


def _oversized_body_response(event: dict) -> dict | None:
    """413 before any parsing or validation work is spent on a body past the documented bound."""
    limit = get_settings().max_body_bytes
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        size = len(body) * 3 // 4 - body[-2:].count("=")  # what the base64 text decodes to
    elif len(body) * 4 <= limit:  # no character takes more than 4 bytes: small enough without encoding it
        return None
    else:
        # The bound is in bytes, as the client sent them: a character outside ASCII takes 2 to 4.
        size = len(body.encode("utf-8", "surrogatepass"))
    if size <= limit:
        return None
    return _error_result(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"Request body exceeds {limit} bytes")


def _authentication_failure(app: APIGatewayHttpResolver) -> Response | None:
    """The 401/403 of the matched route's principal dependency, if it fails; None when it passes or there is none.

    Powertools validates the body before it solves a route's dependencies, so without this a request with a
    bad body and no key would learn the route's input rules (400/422) before being told to authenticate.
    """
    route = app.context.get("_route")
    if route is None or not route.has_dependencies:
        return None
    try:
        solve_dependencies(dependant=build_dependency_tree(route.func), request=app.request)
    except DependencyResolutionError as wrapped:
        error = wrapped.__cause__
        if not isinstance(error, errors.ArbiterError):
            # Not an authentication answer (e.g. the key store failed): the validation answer still holds.
            logger.exception("principal dependency failed while answering a validation error")
            return None
        return error_response(status_of(error), error.detail, headers_of(error))
    return None


def create_resolver(*routers: Router) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=json_body.decode)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        found = list(error.errors())
        return _authentication_failure(app) or error_response(
            _validation_status(found), describe_validation_errors(found)
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type") or "none"
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be application/json (got {content_type})"
        )

    @app.exception_handler(errors.ArbiterError)
    def _domain_error(error: errors.ArbiterError) -> Response:
        status = status_of(error)
        if isinstance(error, errors.ServiceBusyError):
            logger.warning("busy: the caller is told to retry", detail=error.detail)
        elif status >= HTTPStatus.INTERNAL_SERVER_ERROR:  # pragma: no cover - no other domain error maps to 5xx
            logger.error("domain error mapped to 5xx", detail=error.detail)
        return error_response(status, error.detail, headers_of(error))

    @app.not_found
    def _route_not_found(_: RouteNotFound) -> Response:
        event = app.current_event
        return error_response(HTTPStatus.NOT_FOUND, f"No route for {event.http_method} {event.path}")

    @app.exception_handler(ClientError)
    def _dynamodb_error(error: ClientError) -> Response:
        if is_item_too_large(error):
            # A record the request writes would pass DynamoDB's item limit: what it sends is too big for it.
            logger.warning("write refused: item over 400 KB", error=str(error))
            return error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, ITEM_TOO_LARGE)
        if is_transient(error):
            # Contention or throttling that outlasted boto3's own retries: nothing was written, so the caller
            # may resend. Counted, because a steady rate of these means a hot item or too little capacity.
            logger.warning("DynamoDB busy", error=str(error))
            metrics.add_metric(name="DynamoDBBusy", unit="Count", value=1)
            return _domain_error(errors.ServiceBusyError(BUSY))
        return _unexpected(error)

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        # A 5xx is a bug: log it with the stack trace and the correlation id, tell the caller nothing internal.
        logger.exception("unhandled error")
        metrics.add_metric(name="UnhandledErrors", unit="Count", value=1)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error")

    for router in routers:
        app.include_router(router)
    return app


def _rate_limited(rate_limit: RateLimitClass, credential: Credential, event: dict, answer: Callable[[], dict]) -> dict:
    """Count the request, refuse it with 429 past the limit, and put the X-RateLimit-* headers on any answer.

    This wraps the whole resolver rather than being a Powertools middleware: request validation runs
    before user middlewares and exception handlers answer outside them, so a middleware would neither count
    malformed requests nor label 400/401/404/422 answers.
    """
    decision = ratelimit.decide(rate_limit, event.get("headers") or {}, credential)
    if decision.allowed:
        result = answer()
    else:
        metrics.add_metric(name="RateLimited", unit="Count", value=1)
        refused = ratelimit.refusal(decision)
        result = _error_result(status_of(refused), refused.detail, headers_of(refused))
    result["headers"] = {**(result.get("headers") or {}), **decision.headers()}
    return result


def lambda_handler_for(
    *routers: Router, rate_limit: RateLimitClass | None = None, credential: Credential = Credential.BEARER
) -> Callable[[dict, Any], dict]:
    """The Lambda entry point of an API function: Powertools decorators around one resolver.

    `rate_limit` names the function's class (seed 001 "Rate Limits"); None (health, docs) means unlimited.
    `credential` is where its routes read the API key (the Offers API: X-API-Key), which the count follows.
    """
    app = create_resolver(*routers)

    def answer(event: dict, context: Any) -> dict:
        return (
            _oversized_body_response(event)
            or _unsupported_body_response(event)
            or app.resolve(_with_canonical_json_media_type(event), context)
        )

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def lambda_handler(event: dict, context: Any) -> dict:
        if rate_limit is None:
            return answer(event, context)
        return _rate_limited(rate_limit, credential, event, lambda: answer(event, context))

    lambda_handler.app = app  # the OpenAPI builder and tests read the routes from here
    return lambda_handler
