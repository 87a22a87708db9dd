"""Builds the API Gateway HTTP API (payload format 2.0) event the real gateway would send."""

import base64
import json
import time
import uuid
from typing import Any

from arbiter.devstack.template import DEFAULT_ROUTE


def http_api_event(
    method: str,
    path: str,
    *,
    route_path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    raw_body: str | None
    if body is None:
        raw_body = None
    elif isinstance(body, bytes):
        raw_body = body.decode("utf-8", errors="replace")
    elif isinstance(body, str):
        raw_body = body
    else:
        raw_body = json.dumps(body)
        lowered.setdefault("content-type", "application/json")
    now = time.time()
    # The $default route's key is "$default" itself, not "<METHOD> <path>".
    route_key = DEFAULT_ROUTE if route_path == DEFAULT_ROUTE else f"{method} {route_path or path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": lowered,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if raw_body is not None:
        event["body"] = raw_body
    return event


def decode_body(response: dict[str, Any]) -> str:
    body = response.get("body") or ""
    return base64.b64decode(body).decode() if response.get("isBase64Encoded") else body
