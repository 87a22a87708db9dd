"""Creating, listing, revoking and verifying API keys.

Keys are random (192 bits), shown once, stored only as SHA-256. A verified key is cached in memory for
API_KEY_CACHE_TTL_SECONDS (default 30 s, at most 60) so warm hot paths do not read the key table on every
request; a revoked key therefore stops working within that TTL. A key refused (unknown or revoked) is remembered
for REFUSED_CACHE_SECONDS, so a request presenting a bad key (checked by the rate limiter, then by its route) and
a client retrying it cost one key-table read, not one per check. That cannot refuse a new key: a random key
cannot have been presented before it was created. Both caches are bounded (VERIFIED_CACHE_MAX, REFUSED_CACHE_MAX).
"""

import hashlib
import secrets
from collections.abc import Iterable

from arbiter import clock, ids
from arbiter.auth import repository
from arbiter.auth.models import ALL_SCOPES, ApiKeyRecord, CreatedApiKey, Principal, Scope
from arbiter.bounded_cache import BoundedCache
from arbiter.errors import AuthenticationError, BusinessRuleError
from arbiter.settings import get_settings

KEY_PREFIX = "ak_"
MAX_TENANT_ID_LENGTH = 64

# Verified keys: ~1 KB each in memory (hash, principal, scopes), so 10,000 keys take ~10 MB; least recently used
# forgotten first.
VERIFIED_CACHE_MAX = 10_000
REFUSED_CACHE_SECONDS = 5.0
# Refused keys (random bad keys): a few hundred bytes each; oldest refusal forgotten first.
REFUSED_CACHE_MAX = 10_000

# key hash -> principal, for API_KEY_CACHE_TTL_SECONDS (read at each lookup).
_verified: BoundedCache[str, Principal] = BoundedCache(
    VERIFIED_CACHE_MAX, lambda: get_settings().api_key_cache_ttl_seconds
)
# key hash -> True while refused. Looked up with `peek`, so entries leave in the order they were refused.
_refused: BoundedCache[str, bool] = BoundedCache(REFUSED_CACHE_MAX, REFUSED_CACHE_SECONDS)


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
    _verified.pop(record.key_hash)
    return record


INVALID_KEY = "Invalid or revoked API key"


def verify_key(api_key: str | None) -> Principal:
    """The principal a raw key stands for, or AuthenticationError (missing, unknown or revoked)."""
    if not api_key:
        raise AuthenticationError("Missing API key")
    key_hash = hash_key(api_key)
    cached = _verified.get(key_hash)
    if cached is not None:
        return cached
    if _refused.peek(key_hash, False):
        raise AuthenticationError(INVALID_KEY)
    record = repository.get_key(key_hash)
    if record is None or not record.is_active:
        _verified.pop(key_hash)
        _refused.put(key_hash, True)  # stored last: the order refusals expire in
        raise AuthenticationError(INVALID_KEY)
    principal = Principal(tenant_id=record.tenant_id, key_id=record.key_id, scopes=frozenset(record.scopes))
    _verified.put(key_hash, principal)
    return principal


def forget_verified_keys() -> None:
    """Empty the in-memory caches (tests)."""
    _verified.clear()
    _refused.clear()
