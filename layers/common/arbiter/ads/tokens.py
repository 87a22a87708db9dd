"""Impression tokens: an opaque, signed, expiring binding of a /match result, verified by /impressions.

Format: base64url(compact JSON claims) + "." + base64url(HMAC-SHA256(secret, claims)). The claims carry what
billing and attribution need (campaign, creative, game, user, session, country, price, affinity
contributions) so /impressions trusts nothing the caller could alter. Tokens expire after
IMPRESSION_TOKEN_TTL_SECONDS (default 15 minutes: a scene is shown shortly after it is generated).
"""

import base64
import hashlib
import hmac
import json
import secrets
from functools import cache

from pydantic import BaseModel, Field, ValidationError

from arbiter import clock
from arbiter.errors import BadRequestError
from arbiter.settings import get_settings

# The longest token /match can issue is ~4.3 KB (128-character user and session ids of 4-byte characters, 50
# affinity contributions); /impressions takes twice that.
MAX_TOKEN_LENGTH = 8192


class ImpressionClaims(BaseModel, frozen=True):
    jti: str = Field(default_factory=lambda: secrets.token_hex(12))  # one token pays for one impression
    tenant_id: str
    campaign_id: str
    creative_id: str
    game_id: str
    user_id: str
    session_id: str | None = None
    country_code: str | None = None
    cpm_bid_cents: int
    affinity_score: float
    contributions: dict[str, float] = Field(default_factory=dict)  # affinity id -> score contribution
    expires_at: int  # epoch seconds


@cache
def _secret() -> bytes:
    configured = get_settings().impression_token_secret
    if not configured:
        raise RuntimeError("IMPRESSION_TOKEN_SECRET is not configured")
    return configured.encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str) -> str:
    return _b64(hmac.new(_secret(), payload.encode("ascii"), hashlib.sha256).digest())


def expiry_from_now() -> int:
    return int(clock.now().timestamp()) + get_settings().impression_token_ttl_seconds


def issue(claims: ImpressionClaims) -> str:
    claims_json = json.dumps(claims.model_dump(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    payload = _b64(claims_json.encode("utf-8"))
    return f"{payload}.{_signature(payload)}"


def verify(token: str, *, allow_expired: bool = False) -> ImpressionClaims:
    """The token's claims, or BadRequestError when it is malformed, tampered with or (unless allowed) expired."""
    # A token is base64url text: anything else is malformed before it reaches the ASCII-only signature check.
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or token.count(".") != 1:
        raise BadRequestError("impression_token is malformed")
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(payload)):
        raise BadRequestError("impression_token signature is invalid")
    try:
        claims = ImpressionClaims.model_validate_json(_unb64(payload))
    except (ValueError, ValidationError) as error:
        raise BadRequestError("impression_token is malformed") from error
    if not allow_expired and claims.expires_at < clock.now().timestamp():
        raise BadRequestError("impression_token has expired")
    return claims


def forget_secret() -> None:
    _secret.cache_clear()
