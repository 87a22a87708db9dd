"""A small HTTP-like client over the in-process gateway (same routing and events as the local stack)."""

from typing import Any

from arbiter.devstack.gateway import Gateway, GatewayResponse

_gateway = Gateway()


class ApiClient:
    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json: Any = None,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GatewayResponse:
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("Authorization", f"Bearer {key}")
        payload = body if body is not None else json
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        return _gateway.request(method, path, headers=sent, body=payload)

    def get(self, path: str, **kwargs: Any) -> GatewayResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> GatewayResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> GatewayResponse:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> GatewayResponse:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> GatewayResponse:
        return self.request("DELETE", path, **kwargs)
