"""Routes: POST and GET /api/v1/recommend (seed 002)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from arbiter.auth.dependencies import DecisionsClient
from arbiter.decisions import recommend as logic
from arbiter.decisions.api_models import (
    MAX_LIMIT,
    GroupedFlowOutput,
    MultiPlacementOutput,
    RecommendGetOutput,
    RecommendOutput,
    RecommendRequest,
)
from arbiter.http import error_response, is_json_media_type, validated_body

router = Router()
TAGS = ["Decisions: recommend"]


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its $defs inlined (the request body is parsed by hand, see below)."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {name: resolve(value) for name, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(
            by_alias=True, exclude_none=False, exclude={"debug_trace"} if model.debug_trace is None else None
        ),  # type: ignore[attr-defined]
    )


def _client(request_context: dict[str, Any]) -> tuple[str, str]:
    http = request_context.get("http") or {}
    return http.get("sourceIp", ""), http.get("userAgent", "")


_RESPONSES = {
    200: {
        "description": "V1 flat decisions; V2 grouped for `placements` or grouped flows",
        "content": {"application/json": {"model": RecommendOutput | MultiPlacementOutput | GroupedFlowOutput}},
    },
    415: {"description": "Content-Type is not application/json"},
}


# The body is parsed here rather than by Powertools validation, because seed 002 answers 415 for a request
# without a JSON Content-Type, including none at all, which every other route reads as JSON; validated_body
# decodes and validates it exactly as the resolver would.
@router.post(
    "/api/v1/recommend",
    tags=TAGS,
    summary="Ranked offer recommendations for a customer",
    responses=_RESPONSES,
    openapi_extensions={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _inline_schema(RecommendRequest)}}}
    },
)
def recommend(principal: DecisionsClient):
    event = router.current_event
    if not is_json_media_type(event.headers.get("content-type") or ""):
        return error_response(415, "Content-Type must be application/json")
    request = validated_body(RecommendRequest, event.body)
    ip, user_agent = _client(event.raw_event.get("requestContext") or {})
    return _json(logic.recommend(principal, request, source_ip=ip, user_agent=user_agent))


@router.get(
    "/api/v1/recommend",
    tags=TAGS,
    summary="Recommendations from query parameters (V1 flat, no interactionId/sessionId/locale/currency)",
    responses={
        200: {"description": "V1 flat decisions", "content": {"application/json": {"model": RecommendGetOutput}}}
    },
)
def recommend_get(
    principal: DecisionsClient,
    customerId: Annotated[str, Query(min_length=1, max_length=64)] = "anonymous",
    channel: Annotated[str | None, Query(max_length=100)] = None,
    placement: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 5,
    debug: Annotated[str, Query(pattern="^(true|false)$")] = "false",
):
    request = RecommendRequest(
        customer_id=customerId, channel=channel, placement=placement, limit=limit, debug=debug == "true"
    )
    ip, user_agent = _client(router.current_event.raw_event.get("requestContext") or {})
    return _json(logic.recommend(principal, request, source_ip=ip, user_agent=user_agent, flat_get=True))
