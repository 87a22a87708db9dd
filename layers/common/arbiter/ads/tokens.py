"""Impression tokens: an opaque, signed, expiring binding of a /match result, verified by /impressions.

Format: base64url(compact JSON claims) + "." + base64url(HMAC-SHA256(secret, claims)). The claims carry what
billing and attribution need (campaign, creative, game, user, session, country, price, affinity
contributions) so /impressions trusts nothing the caller could alter. Tokens expire after
IMPRESSION_TOKEN_TTL_SECONDS (default 15 minutes: a scene is shown shortly after it is generated).

The key: in AWS a Secrets Manager secret (IMPRESSION_TOKEN_SECRET_ARN), read through Powertools' parameters with
a 5-minute cache. Tokens are signed with its current version and verified against the current and the previous
(AWSPREVIOUS) one, so rotating the secret does not refuse the tokens /match issued in the minutes before it; a
token no cached key verifies makes the keys be read again (at most every 10 s), for the tokens a /match instance
signed with the new version while this one still had the old one cached.
Locally and in tests the key is IMPRESSION_TOKEN_SECRET itself.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from functools import cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, ValidationError

from arbiter import aws, clock
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


SECRET_CACHE_SECONDS = 300


@cache
def _providers() -> tuple[SecretsProvider, SecretsProvider]:
    """One provider per version stage: Powertools caches by secret name only, not by the stage asked for."""
    client = aws.secretsmanager_client()
    return SecretsProvider(boto3_client=client), SecretsProvider(boto3_client=client)


_no_previous_until = 0.0  # a secret never rotated has no AWSPREVIOUS: asked again only after the cache time
_last_refresh = 0.0
REFRESH_INTERVAL_SECONDS = 10.0


def _never_rotated(error: GetParameterError) -> bool:
    cause = error.__cause__ or error.__context__  # Powertools re-raises inside its except block
    return isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ResourceNotFoundException"


def _previous_key(arn: str, refresh: bool) -> str | None:
    global _no_previous_until
    if not refresh and time.monotonic() < _no_previous_until:
        return None
    try:
        return _providers()[1].get(  # type: ignore[return-value]
            arn, max_age=SECRET_CACHE_SECONDS, force_fetch=refresh, VersionStage="AWSPREVIOUS"
        )
    except GetParameterError as error:
        if _never_rotated(error):
            _no_previous_until = time.monotonic() + SECRET_CACHE_SECONDS
        return None  # (a throttled or failed read is not remembered: the next verification asks again)


def _keys(refresh: bool = False) -> tuple[bytes, ...]:
    """The signing key first, then the one a rotation replaced (if any); `refresh` reads both again."""
    settings = get_settings()
    if settings.impression_token_secret:
        return (settings.impression_token_secret.encode("utf-8"),)
    arn = settings.impression_token_secret_arn
    if not arn:
        raise RuntimeError("Neither IMPRESSION_TOKEN_SECRET_ARN nor IMPRESSION_TOKEN_SECRET is configured")
    current = _providers()[0].get(arn, max_age=SECRET_CACHE_SECONDS, force_fetch=refresh)
    return tuple(key.encode("utf-8") for key in (current, _previous_key(arn, refresh)) if isinstance(key, str) and key)


def _signed_by_one_of(keys: tuple[bytes, ...], payload: str, signature: str) -> bool:
    return any(hmac.compare_digest(signature, _signature(payload, key)) for key in keys)


def _signed_by_a_fresh_key(payload: str, signature: str) -> bool:
    """After a rotation a /match instance that read the new key signs with it while this one still has the old
    one cached: read the keys again (at most every 10 s, so bad signatures cannot make every request read them)."""
    global _last_refresh
    if get_settings().impression_token_secret or time.monotonic() - _last_refresh < REFRESH_INTERVAL_SECONDS:
        return False
    _last_refresh = time.monotonic()
    return _signed_by_one_of(_keys(refresh=True), payload, signature)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, key: bytes) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def expiry_from_now() -> int:
    return int(clock.now().timestamp()) + get_settings().impression_token_ttl_seconds


def issue(claims: ImpressionClaims) -> str:
    claims_json = json.dumps(claims.model_dump(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    payload = _b64(claims_json.encode("utf-8"))
    return f"{payload}.{_signature(payload, _keys()[0])}"


def verify(token: str, *, allow_expired: bool = False) -> ImpressionClaims:
    """The token's claims, or BadRequestError when it is malformed, tampered with or (unless allowed) expired."""
    # A token is base64url text: anything else is malformed before it reaches the ASCII-only signature check.
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or token.count(".") != 1:
        raise BadRequestError("impression_token is malformed")
    payload, signature = token.split(".")
    if not _signed_by_one_of(_keys(), payload, signature) and not _signed_by_a_fresh_key(payload, signature):
        raise BadRequestError("impression_token signature is invalid")
    try:
        claims = ImpressionClaims.model_validate_json(_unb64(payload))
    except (ValueError, ValidationError) as error:
        raise BadRequestError("impression_token is malformed") from error
    if not allow_expired and claims.expires_at < clock.now().timestamp():
        raise BadRequestError("impression_token has expired")
    return claims


def forget_secret() -> None:
    """Read the key again on next use (tests; a process whose configuration changed)."""
    global _no_previous_until, _last_refresh
    _providers.cache_clear()
    _no_previous_until = _last_refresh = 0.0
