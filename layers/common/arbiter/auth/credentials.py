"""Where a request presents its API key. One definition serves the routes' authentication and the rate limiter,
so a request is always counted against the key its route authenticates it with."""

from collections.abc import Mapping
from enum import StrEnum


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), None) or ""


class Credential(StrEnum):
    BEARER = "bearer"  # Authorization: Bearer <key> (Ads, Decisions)
    API_KEY_HEADER = "x-api-key"  # X-API-Key: <key> (Offers, seed 000)

    def presented(self, headers: Mapping[str, str]) -> str | None:
        if self is Credential.API_KEY_HEADER:
            return _header(headers, "x-api-key").strip() or None
        scheme, _, token = _header(headers, "authorization").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None
