"""Runs the template's scheduled functions locally, as EventBridge would, but faster.

Every `Schedule` event of template.yaml gets a daemon thread that invokes the function's handler with an
EventBridge "Scheduled Event". Local intervals are the template's rate divided by LOCAL_SCHEDULE_SPEEDUP
(default 10: `rate(5 minutes)` runs every 30 s), never below MIN_LOCAL_INTERVAL_SECONDS. A `cron(...)`
schedule runs every CRON_LOCAL_INTERVAL_SECONDS / speedup (a note is logged): the local stack is for
exercising the handler, not for reproducing wall-clock timing.
"""

import logging
import os
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from arbiter import clock
from arbiter.devstack.functions import LambdaContext, load_handler
from arbiter.devstack.template import ScheduledFunction, scheduled_functions
from arbiter.devstack.ticker import Ticker

log = logging.getLogger("arbiter.devstack")

DEFAULT_SPEEDUP = 10.0
MIN_LOCAL_INTERVAL_SECONDS = 1.0
CRON_LOCAL_INTERVAL_SECONDS = 60.0
LOCAL_ACCOUNT_ID = "000000000000"

_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(second|minute|hour|day)s?\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\(.+\)$", re.IGNORECASE)


@dataclass(frozen=True)
class LocalSchedule:
    """How often a schedule fires: `seconds` in AWS, `local_seconds` in the local stack."""

    expression: str
    seconds: float
    local_seconds: float
    is_cron: bool = False


def schedule_speedup() -> float:
    raw = os.environ.get("LOCAL_SCHEDULE_SPEEDUP")
    if not raw:
        return DEFAULT_SPEEDUP
    try:
        speedup = float(raw)
    except ValueError as error:
        raise ValueError(f"LOCAL_SCHEDULE_SPEEDUP must be a number, got {raw!r}") from error
    if speedup <= 0:
        raise ValueError(f"LOCAL_SCHEDULE_SPEEDUP must be positive, got {raw!r}")
    return speedup


def parse_schedule(expression: str, speedup: float = DEFAULT_SPEEDUP) -> LocalSchedule:
    """'rate(5 minutes)' -> every 300 s in AWS, 300 / speedup s locally; 'cron(...)' -> a fixed local interval."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        amount = int(rate.group(1))
        if amount <= 0:
            raise ValueError(f"schedule rate must be positive: {expression!r}")
        seconds = float(amount * _UNIT_SECONDS[rate.group(2).lower()])
        return LocalSchedule(text, seconds, max(MIN_LOCAL_INTERVAL_SECONDS, seconds / speedup))
    if _CRON.match(text):
        local = max(MIN_LOCAL_INTERVAL_SECONDS, CRON_LOCAL_INTERVAL_SECONDS / speedup)
        return LocalSchedule(text, CRON_LOCAL_INTERVAL_SECONDS, local, is_cron=True)
    raise ValueError(f"unsupported schedule expression: {expression!r} (expected rate(...) or cron(...))")


def scheduled_event(function: ScheduledFunction, region: str) -> dict:
    """The event EventBridge sends a function on a schedule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": clock.now_iso(),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{function.logical_id}"],
        "detail": {},
    }


class Scheduler:
    """One daemon thread per scheduled function; stop() ends them all promptly."""

    def __init__(
        self,
        functions: list[ScheduledFunction] | None = None,
        *,
        speedup: float | None = None,
        region: str = "us-east-1",
        invocation_lock: AbstractContextManager | None = None,
        on_invoke: Callable[[ScheduledFunction, dict], None] | None = None,
    ):
        self.functions = functions if functions is not None else scheduled_functions()
        self.speedup = speedup if speedup is not None else schedule_speedup()
        self.region = region
        # The local stack shares one lock between HTTP requests and schedules: one invocation at a time.
        self._lock = invocation_lock or nullcontext()
        self._on_invoke = on_invoke
        self._ticker = Ticker()
        # Parse every expression up front so a bad schedule fails the start, not a background thread.
        self.schedules = {fn.logical_id: parse_schedule(fn.schedule, self.speedup) for fn in self.functions}

    def start(self) -> None:
        for function in self.functions:
            schedule = self.schedules[function.logical_id]
            if schedule.is_cron:
                log.warning(
                    "%s: %s runs every %.0f s locally (cron timing is not reproduced)",
                    function.logical_id,
                    schedule.expression,
                    schedule.local_seconds,
                )
            # Like EventBridge, the first run comes one interval after the rule is created; a failing run is
            # logged and retried at the next tick, as a scheduled Lambda would be.
            self._ticker.every(
                schedule.local_seconds,
                f"schedule-{function.logical_id}",
                lambda function=function: self.invoke(function),
            )

    def stop(self) -> None:
        self._ticker.stop()

    def invoke(self, function: ScheduledFunction) -> dict:
        """Invoke one scheduled function now, with a fresh Scheduled Event."""
        event = scheduled_event(function, self.region)
        handler = load_handler(function.code_uri, function.handler)
        with self._lock:
            result = handler(event, LambdaContext(function.logical_id))
        if self._on_invoke:
            self._on_invoke(function, event)
        return result
