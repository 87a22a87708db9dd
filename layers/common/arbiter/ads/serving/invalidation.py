"""In-process notice that campaign or placement data changed, so this instance's /match caches reload on next
use. Other instances (other Lambda functions in AWS) still catch up within CANDIDATE_CACHE_TTL_SECONDS; in the
local stack, where every function shares one process, a pause or new affinity reaches /match at once.

Dependency-free on purpose: repositories call `changed()` without importing the serving cache.
"""

from collections.abc import Callable

_listeners: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def changed() -> None:
    for listener in _listeners:
        listener()
