"""HTTP glue shared by every API function: one resolver factory, one error mapping, one Lambda entry point.

Every error leaves as the seeds' body `{"detail": "Human-readable error message"}` with the status below.
"""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from arbiter import errors
from arbiter.observability import logger, metrics, tracer
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
}

# Pydantic error types that mean "malformed request" (400) rather than "well-formed but out of range" (422).
_MALFORMED_ERROR_TYPES = {"missing", "json_invalid", "json_type", "model_attributes_type", "dict_type", "model_type"}


def error_response(status: HTTPStatus | int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body={"detail": detail},
        headers=headers,
    )


def _is_malformed(error: dict[str, Any]) -> bool:
    kind = error.get("type", "")
    return kind in _MALFORMED_ERROR_TYPES or kind.endswith("_type") or kind.endswith("_parsing")


def describe_validation_errors(validation_errors: list[dict[str, Any]]) -> str:
    """'cpm_bid_cents: Input should be less than or equal to 10000' — field path without the 'body' prefix."""
    parts = []
    for error in validation_errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        field = ".".join(location) or "body"
        message = error.get("msg") or error.get("type", "invalid value")
        if error.get("type") == "json_invalid":
            message = "Request body is not valid JSON"
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def _validation_status(validation_errors: list[dict[str, Any]]) -> HTTPStatus:
    if any(_is_malformed(error) for error in validation_errors):
        return HTTPStatus.BAD_REQUEST
    return HTTPStatus.UNPROCESSABLE_ENTITY


def _oversized_body_response(event: dict) -> dict | None:
    """413 before any parsing or validation work is spent on a body past the documented bound."""
    limit = get_settings().max_body_bytes
    if len(event.get("body") or "") <= limit:
        return None
    return {
        "statusCode": int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps({"detail": f"Request body exceeds {limit} bytes"}),
        "isBase64Encoded": False,
    }


def create_resolver(*routers: Router) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        found = list(error.errors())
        return error_response(_validation_status(found), describe_validation_errors(found))

    @app.exception_handler(errors.ArbiterError)
    def _domain_error(error: errors.ArbiterError) -> Response:
        status = next(
            (code for kind, code in STATUS_BY_ERROR.items() if isinstance(error, kind)),
            HTTPStatus.BAD_REQUEST,
        )
        headers = None
        if isinstance(error, errors.RateLimitedError):
            headers = {"Retry-After": str(error.retry_after_seconds)}
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:  # pragma: no cover - no domain error maps to 5xx
            logger.error("domain error mapped to 5xx", detail=error.detail)
        return error_response(status, error.detail, headers)

    @app.not_found
    def _route_not_found(_: RouteNotFound) -> Response:
        event = app.current_event
        return error_response(HTTPStatus.NOT_FOUND, f"No route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        # A 5xx is a bug: log it with the stack trace and the correlation id, tell the caller nothing internal.
        logger.exception("unhandled error")
        metrics.add_metric(name="UnhandledErrors", unit="Count", value=1)
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error")

    for router in routers:
        app.include_router(router)
    return app


def lambda_handler_for(*routers: Router) -> Callable[[dict, Any], dict]:
    """The Lambda entry point of an API function: Powertools decorators around one resolver."""
    app = create_resolver(*routers)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def lambda_handler(event: dict, context: Any) -> dict:
        return _oversized_body_response(event) or app.resolve(event, context)

    lambda_handler.app = app  # the OpenAPI builder and tests read the routes from here
    return lambda_handler
