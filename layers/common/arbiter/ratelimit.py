"""Per-key (or per-tenant) request limits in fixed 60 s windows, shared across Lambda instances cheaply.

Each instance counts locally and adds its pending count to one shared counter item per bucket and window
(interactions table, `PK=RATE#<bucket>#<class>#<window>`, `SK=RATE`) once every `batch` accepted requests,
or on every request once its local view is within one batch of the limit. A request is refused when
(last known shared count + local unflushed) has reached the limit; the request that triggers a flush is
decided on the fresh shared count. Accuracy and cost: docs/decisions.md, "Rate limits".
"""

import math
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from arbiter import aws, clock
from arbiter.auth.credentials import Credential
from arbiter.auth.keys import verify_key
from arbiter.errors import RateLimitedError
from arbiter.observability import logger
from arbiter.settings import get_settings

WINDOW_SECONDS = 60
# The counter item outlives its window a little so late flushes still land on it; TTL then removes it.
COUNTER_TTL_SLACK_SECONDS = 300


@dataclass(frozen=True)
class RateLimitPolicy:
    name: str
    limit: int  # requests per WINDOW_SECONDS
    per_tenant: bool = False  # bucket by tenant instead of by API key

    @property
    def batch(self) -> int:
        """Local requests between shared-counter writes: 20 for 1,000, 2 for 100, 1 for 60."""
        return max(1, self.limit // 50)


class RateLimitClass(Enum):
    """The seeds' classes (seed 001 "Rate Limits"; seed 002: 1,000 per 60 s per tenant)."""

    MATCH = RateLimitPolicy("match", 1000)
    IMPRESSIONS = RateLimitPolicy("impressions", 1000)
    MANAGEMENT = RateLimitPolicy("management", 100)
    ANALYTICS = RateLimitPolicy("analytics", 60)
    DECISIONS = RateLimitPolicy("decisions", 1000, per_tenant=True)
    # Seed 000 states no limit; /v2/recommend and /v1/feedback get /match's 1,000 per 60 s per key, own bucket.
    OFFERS = RateLimitPolicy("offers", 1000)


@dataclass(frozen=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int  # when the current window ends
    retry_after_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }


class CounterStore(Protocol):
    def add(self, counter_id: str, amount: int, expires_at: int) -> int:
        """Add `amount` to the shared counter and return its new total."""
        ...


class DynamoCounterStore:
    """The shared counter: one UpdateItem (ADD) on the interactions table per flush."""

    def add(self, counter_id: str, amount: int, expires_at: int) -> int:
        response = aws.dynamodb_client().update_item(
            TableName=get_settings().interactions_table,
            Key={"PK": {"S": counter_id}, "SK": {"S": "RATE"}},
            UpdateExpression="ADD #count :amount SET expires_at = :expires_at",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":amount": {"N": str(amount)}, ":expires_at": {"N": str(expires_at)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["count"]["N"])


@dataclass
class _BucketWindow:
    window: int
    known_total: int = 0  # the shared count as of this instance's last flush
    unflushed: int = 0  # accepted here, not yet added to the shared count


class RateLimiter:
    """One instance's view of every bucket it has seen; cheap to create, so tests build several."""

    def __init__(self, store: CounterStore | None = None):
        self.store: CounterStore = store or DynamoCounterStore()
        self._buckets: dict[tuple[str, str], _BucketWindow] = {}
        self._current_window = -1
        self._lock = threading.Lock()  # the local dev server is threaded; Lambda runs one request at a time

    def idle(self, policy: RateLimitPolicy) -> RateLimitDecision:
        """Headers for a request that is not counted (no valid key): the full allowance of this window."""
        _, reset_epoch, retry_after = _window_of(clock.now().timestamp())
        return RateLimitDecision(True, policy.limit, policy.limit, reset_epoch, retry_after)

    def check(self, bucket: str, policy: RateLimitPolicy) -> RateLimitDecision:
        """Count one request against `bucket` under `policy`, or refuse it (allowed=False, nothing counted)."""
        window, reset_epoch, retry_after = _window_of(clock.now().timestamp())
        with self._lock:
            state = self._state(bucket, policy, window)
            seen = state.known_total + state.unflushed
            if seen >= policy.limit:
                return RateLimitDecision(False, policy.limit, 0, reset_epoch, retry_after)
            near_limit = seen + 1 > policy.limit - policy.batch
            if state.unflushed + 1 >= policy.batch or near_limit:
                allowed = self._flush(state, bucket, policy, pending=state.unflushed + 1)
            else:
                state.unflushed += 1
                allowed = True
            remaining = max(0, policy.limit - state.known_total - state.unflushed)
            return RateLimitDecision(allowed, policy.limit, remaining, reset_epoch, retry_after)

    def _state(self, bucket: str, policy: RateLimitPolicy, window: int) -> _BucketWindow:
        if window != self._current_window:
            # Once a minute: forget buckets of past windows so idle keys do not pile up in memory.
            self._buckets = {k: v for k, v in self._buckets.items() if v.window >= window}
            self._current_window = max(window, self._current_window)
        key = (bucket, policy.name)
        state = self._buckets.get(key)
        if state is None or state.window != window:
            state = self._buckets[key] = _BucketWindow(window)
        return state

    def _flush(self, state: _BucketWindow, bucket: str, policy: RateLimitPolicy, pending: int) -> bool:
        """Add `pending` (which includes the current request) to the shared count; decide on the fresh total."""
        counter_id = f"RATE#{bucket}#{policy.name}#{state.window}"
        try:
            window_end = (state.window + 1) * WINDOW_SECONDS
            total = self.store.add(counter_id, pending, window_end + COUNTER_TTL_SLACK_SECONDS)
        except Exception:
            # Fail open: a counter outage must not take the API down; keep counting locally and retry later.
            logger.warning("rate limit counter write failed", counter_id=counter_id, exc_info=True)
            state.unflushed = pending
            return True
        state.known_total = total
        state.unflushed = 0
        # The current request is already in `total`; refusing it leaves the shared count conservative.
        return total <= policy.limit


def _window_of(epoch: float) -> tuple[int, int, int]:
    window = int(epoch // WINDOW_SECONDS)
    reset_epoch = (window + 1) * WINDOW_SECONDS
    return window, reset_epoch, max(1, math.ceil(reset_epoch - epoch))


_limiter = RateLimiter()


def limiter() -> RateLimiter:
    return _limiter


def install_limiter(replacement: RateLimiter | None = None) -> RateLimiter:
    """Start from an empty local view (tests), optionally with a different shared store."""
    global _limiter
    _limiter = replacement or RateLimiter()
    return _limiter


def decide(
    rate_limit: RateLimitClass, headers: dict[str, str], credential: Credential = Credential.BEARER
) -> RateLimitDecision:
    """Count a request of an API function against its caller's bucket; uncounted without a valid key. The key
    is read where the function's routes read it (`credential`), so another header cannot dodge the count."""
    policy = rate_limit.value
    if not get_settings().rate_limits_enabled:
        return _limiter.idle(policy)
    try:
        principal = verify_key(credential.presented(headers))  # cached in memory when warm
    except Exception:
        # Missing, unknown or revoked key (or the key table is unreachable): the route itself answers.
        return _limiter.idle(policy)
    bucket = principal.tenant_id if policy.per_tenant else principal.key_id
    return _limiter.check(bucket, policy)


def refusal(decision: RateLimitDecision) -> RateLimitedError:
    return RateLimitedError(
        f"Rate limit exceeded ({decision.limit} requests per {WINDOW_SECONDS} s); "
        f"retry after {decision.retry_after_seconds} s",
        retry_after_seconds=decision.retry_after_seconds,
    )
