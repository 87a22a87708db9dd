"""An in-process stand-in for API Gateway: routes a request to the template's function, as the real one does.

The local HTTP server and the tests both go through here, so both exercise the real handlers with the
real event shape (HTTP API payload 2.0).
"""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from arbiter.devstack.events import decode_body, http_api_event
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.template import ApiFunction, api_functions, default_route_function


@dataclass
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: str
    function: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Gateway:
    def __init__(self, functions: list[ApiFunction] | None = None, default: ApiFunction | None = None):
        self.functions = functions if functions is not None else api_functions()
        self.default = default if functions is not None else default_route_function()

    def route(self, method: str, path: str) -> tuple[ApiFunction, dict[str, str]] | None:
        # Literal segments win over parameters, as in API Gateway ("/affinities/bulk" before "/affinities/{aid}").
        candidates = []
        for function in self.functions:
            if function.method not in (method, "ANY"):
                continue
            match = function.path_regex.match(path)
            if match:
                candidates.append((function.path.count("{"), function, match.groupdict()))
        if not candidates:
            return None
        _, function, params = min(candidates, key=lambda found: found[0])
        return function, params

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        source_ip: str = "127.0.0.1",
    ) -> GatewayResponse:
        split = urlsplit(url)
        method = method.upper()
        routed = self.route(method, split.path)
        if routed is None and self.default is None:
            # What API Gateway answers for a route no function serves when the API has no $default route.
            return GatewayResponse(404, {"content-type": "application/json"}, json.dumps({"message": "Not Found"}))
        function, params = routed or (self.default, {})
        event = http_api_event(
            method,
            split.path,
            route_path=function.path,
            path_parameters=params or None,
            headers=headers,
            query=dict(parse_qsl(split.query)) or None,
            body=body,
            source_ip=source_ip,
        )
        handler = load_handler(function.code_uri, function.handler)
        result = handler(event, LambdaContext(function.logical_id))
        response_headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[name.lower()] = ", ".join(values)
        return GatewayResponse(
            status=int(result.get("statusCode", 200)),
            headers=response_headers,
            body=decode_body(result),
            function=function.logical_id,
            raw=result,
        )
