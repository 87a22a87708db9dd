"""One source of 'now' so tests can drive time (pacing, TTLs, token expiry) deterministically."""

from collections.abc import Callable
from datetime import UTC, date, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _now()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Install a replacement clock (tests, simulators); None restores the wall clock."""
    global _now
    _now = clock or (lambda: datetime.now(UTC))


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, as the seeds show ("2026-03-01T12:00:00Z")."""
    utc = moment.astimezone(UTC)
    # Not strftime("%Y"): glibc writes year 1 as "1", which no ISO parser reads back.
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def now_iso() -> str:
    return isoformat(now())


def utc_date(moment: datetime | None = None) -> date:
    """The UTC calendar day of `moment` (default now): every daily counter, cap and report is on UTC days."""
    return (moment or now()).astimezone(UTC).date()


def parse_iso(value: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime; ValueError when it is not one, including an
    offset that moves it outside the years 1-9999 (`0001-01-01T00:00:00+01:00`)."""
    if value[-1:] in ("Z", "z"):  # RFC 3339 allows either case
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1-9999 in UTC") from None
