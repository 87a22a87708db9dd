"""Background ticks for the local stack: a daemon thread per job, each calling its job every N seconds."""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("arbiter.devstack")


class Ticker:
    """Runs jobs in daemon threads, each every `seconds` (the first call one interval after start, as
    EventBridge does), until stop(). A failing call is logged and tried again at the next tick, as Lambda
    retries a scheduled run or a stream batch."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def every(self, seconds: float, name: str, job: Callable[[], object]) -> None:
        thread = threading.Thread(target=self._run, args=(seconds, name, job), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def _run(self, seconds: float, name: str, job: Callable[[], object]) -> None:
        while not self._stopping.wait(seconds):
            try:
                job()
            except Exception:
                log.exception("%s failed", name)
