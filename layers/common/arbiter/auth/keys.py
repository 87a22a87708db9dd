"""Creating, listing, revoking and verifying API keys.

Keys are random (192 bits), shown once, stored only as SHA-256. A verified key is cached in memory for
API_KEY_CACHE_TTL_SECONDS (default 30 s, at most 60) so warm hot paths do not read the key table on every
request; a revoked key therefore stops working within that TTL.
"""

import hashlib
import secrets
import time
from collections.abc import Iterable

from arbiter import clock, ids
from arbiter.auth import repository
from arbiter.auth.models import ALL_SCOPES, ApiKeyRecord, CreatedApiKey, Principal, Scope
from arbiter.errors import AuthenticationError, BusinessRuleError
from arbiter.settings import get_settings

KEY_PREFIX = "ak_"
MAX_TENANT_ID_LENGTH = 64

# key hash -> (principal, monotonic expiry). Only successful verifications are cached: a new key works at once.
_verified: dict[str, tuple[Principal, float]] = {}


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _validate_tenant_id(tenant_id: str) -> None:
    if not tenant_id or len(tenant_id) > MAX_TENANT_ID_LENGTH or not all(c.isalnum() or c in "-_." for c in tenant_id):
        raise BusinessRuleError("tenant id must be 1-64 characters of letters, digits, '-', '_' or '.'")


def create_key(tenant_id: str, scopes: Iterable[Scope] = ()) -> CreatedApiKey:
    _validate_tenant_id(tenant_id)
    chosen = sorted(set(scopes) or set(ALL_SCOPES))
    api_key = KEY_PREFIX + secrets.token_urlsafe(24)
    record = ApiKeyRecord(
        key_id=ids.new_id("key"),
        key_hash=hash_key(api_key),
        tenant_id=tenant_id,
        scopes=chosen,
        created_at=clock.now_iso(),
    )
    repository.put_key(record)
    return CreatedApiKey(api_key=api_key, key_id=record.key_id, tenant_id=tenant_id, scopes=chosen)


def list_keys(tenant_id: str | None = None) -> list[ApiKeyRecord]:
    return repository.list_keys(tenant_id)


def revoke_key(key_id: str) -> ApiKeyRecord:
    record = repository.revoke_key(key_id, clock.now_iso())
    _verified.pop(record.key_hash, None)
    return record


def verify_key(api_key: str | None) -> Principal:
    """The principal a raw key stands for, or AuthenticationError (missing, unknown or revoked)."""
    if not api_key:
        raise AuthenticationError("Missing API key")
    key_hash = hash_key(api_key)
    cached = _verified.get(key_hash)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    record = repository.get_key(key_hash)
    if record is None or not record.is_active:
        _verified.pop(key_hash, None)
        raise AuthenticationError("Invalid or revoked API key")
    principal = Principal(tenant_id=record.tenant_id, key_id=record.key_id, scopes=frozenset(record.scopes))
    _verified[key_hash] = (principal, time.monotonic() + get_settings().api_key_cache_ttl_seconds)
    return principal


def forget_verified_keys() -> None:
    """Empty the in-memory cache (tests)."""
    _verified.clear()
