"""The one kind of per-instance cache in the layer: at most `max_entries` entries, each served only while younger
than its time to live, the least recently used evicted first when a new one needs room.

A warm Lambda instance serves many tenants and games for hours, so a module-level dict keyed by what clients send
(game ids, API keys, tenants) would grow until the function's 512 MB ran out. Every such cache is one of these,
with its bound next to it (docs/decisions.md D14, "Per-instance caches"). Eviction costs a re-read, nothing else:
an entry is never served past its TTL, and what is served is what a read would have returned within the TTL.

Thread-safe: one lock per cache, never held while loading (the local stack serves requests on threads).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

_MISSING: Any = object()


class BoundedCache[K: Hashable, V]:
    """`ttl_seconds` is a number or a function read at each lookup (a setting); `clock` gives seconds (default
    time.monotonic; tests and caches that follow arbiter.clock pass their own). With `weigh` and `max_weight`, the
    entries' total weight (e.g. offers in cached catalogs: what their memory grows with) is bounded too, so a few
    very large entries cannot fill the instance where `max_entries` typical ones would not; the newest entry is
    kept even when it alone weighs more."""

    def __init__(
        self,
        max_entries: int,
        ttl_seconds: float | Callable[[], float],
        *,
        clock: Callable[[], float] = time.monotonic,
        weigh: Callable[[V], int] | None = None,
        max_weight: int | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if (weigh is None) != (max_weight is None):
            raise ValueError("weigh and max_weight go together")
        self.max_entries = max_entries
        self.max_weight = max_weight
        self._weigh = weigh
        self._ttl = ttl_seconds
        self._clock = clock
        # key -> (stored at, value, weight), least recently used first
        self._entries: OrderedDict[K, tuple[float, V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    @property
    def weight(self) -> int:
        return self._weight

    def __len__(self) -> int:
        return len(self._entries)

    def _max_age(self, max_age: float | None) -> float:
        if max_age is not None:
            return max_age
        return self._ttl() if callable(self._ttl) else self._ttl

    def _lookup(self, key: K, default: Any, max_age: float | None, refresh: bool) -> Any:
        limit = self._max_age(max_age)
        with self._lock:
            found = self._entries.get(key)
            if found is None or self._clock() - found[0] >= limit:
                return default
            if refresh:
                self._entries.move_to_end(key)
            return found[1]

    def get(self, key: K, default: Any = None, *, max_age: float | None = None) -> Any:
        """The value stored under `key` while younger than `max_age` seconds (default: the TTL), else `default`.
        A hit becomes the most recently used entry."""
        return self._lookup(key, default, max_age, refresh=True)

    def peek(self, key: K, default: Any = None) -> Any:
        """As `get`, without making the entry the most recently used (eviction stays in the order of `put`)."""
        return self._lookup(key, default, None, refresh=False)

    def put(self, key: K, value: V, *, stored_at: float | None = None) -> None:
        """Store `value` as the most recently used entry, aged from `stored_at` (default now), evicting the least
        recently used entries beyond `max_entries`."""
        moment = self._clock() if stored_at is None else stored_at
        weight = self._weigh(value) if self._weigh else 0
        with self._lock:
            self._remove(key)
            self._entries[key] = (moment, value, weight)
            self._weight += weight
            self._evict(keep=key)

    def get_or_load(self, key: K, load: Callable[[], V], *, max_age: float | None = None) -> V:
        """The fresh cached value, else `load()`'s, stored and aged from before the load began (so it is not
        served later than the TTL after the read that produced it started). Concurrent misses may both load."""
        found = self.get(key, _MISSING, max_age=max_age)
        if found is not _MISSING:
            return found
        started = self._clock()
        value = load()
        self.put(key, value, stored_at=started)
        return value

    def mutate(self, key: K, change: Callable[[V], object]) -> bool:
        """Call `change` on the value stored under `key` (fresh or not), under the cache's lock; its age and
        recency stay as they were. False when nothing is stored under `key`."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return False
            change(found[1])
            if self._weigh:  # a change can grow the value (a model learns new features)
                weight = self._weigh(found[1])
                self._weight += weight - found[2]
                self._entries[key] = (found[0], found[1], weight)
                self._evict(keep=key)
            return True

    def pop(self, key: K) -> None:
        with self._lock:
            self._remove(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def _remove(self, key: K) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._weight -= found[2]

    def _evict(self, keep: K) -> None:
        """Drop least recently used entries past the bounds, never `keep` (the entry just stored or changed)."""
        while len(self._entries) > self.max_entries or (
            self.max_weight is not None and self._weight > self.max_weight and len(self._entries) > 1
        ):
            victim = next(key for key in self._entries if key != keep)
            self._remove(victim)
