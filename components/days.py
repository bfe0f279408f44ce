"""Calendar days in the page's time zone and the daily roll-up of a status history (see
docs/architecture.md, 'Uptime from daily roll-ups').

Functions of times alone, no models: ``components.models`` writes the roll-up with ``fold_days``,
``components.uptime`` reads it. Times are POSIX timestamps (floats) throughout: the
arithmetic runs over thousands of changes, and an aware ``datetime`` costs a
``utcoffset()`` call per comparison.

A day's roll-up (``DayRow``) exists only for a day on which the component's status
changed. It holds the seconds spent in each status from the day's start until the day's
last change, the status the day ended in and the time of that last change; whatever follows
(the rest of the day, and the days without a change) is in that end status, which the
reader adds up to midnight or to now. Seconds before a component's first recorded change
are kept under ``BEFORE_RECORD``: they count as operational for a component with a start
date and not at all without one, so that editing ``start_date`` needs no rebuild.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple, overload

from django.db import connection
from django.db.models import F, FloatField, Func

# The seconds of a day before the component's first recorded change.
BEFORE_RECORD = ""


class DayRow(NamedTuple):
    """One component's day, rolled up: ``seconds`` (status value -> seconds, from the
    day's start until ``last_at``), ``end_status`` (in force from ``last_at`` on)."""

    day: date
    seconds: dict[str, float]
    end_status: str
    last_at: float


def day_start(day: date, zone: tzinfo) -> datetime:
    """The instant a calendar day begins in ``zone``."""
    return datetime.combine(day, time.min, tzinfo=zone)


def day_of(ts: float, zone: tzinfo) -> tuple[date, float, float]:
    """The day ``ts`` falls on in ``zone``, with the timestamps at which it begins and
    ends. Exactly the day whose ``day_start`` bounds hold ``ts``, also where a time zone
    moves its clocks at midnight."""
    day = datetime.fromtimestamp(ts, zone).date()
    lo = day_start(day, zone).timestamp()
    if ts < lo:
        day -= timedelta(days=1)
        lo = day_start(day, zone).timestamp()
    hi = day_start(day + timedelta(days=1), zone).timestamp()
    if ts >= hi:
        day, lo = day + timedelta(days=1), hi
        hi = day_start(day + timedelta(days=1), zone).timestamp()
    return day, lo, hi


def fold_days(
    changes: Iterable[tuple[float, str]], status_before: str | None, zone: tzinfo
) -> list[DayRow]:
    """The roll-up of the days on which ``changes`` fall.

    ``changes`` are (timestamp, new status), ordered as the history is (time, then
    primary key), all on or after the start of the first one's day; ``status_before``
    is the status in force when that day began (None before the component's first
    record). Two changes at the same instant leave the later one's status.
    """
    rows: list[DayRow] = []
    current: date | None = None
    seconds: dict[str, float] = {}
    cursor = hi = 0.0
    status = status_before
    for ts, new_status in changes:
        if current is None or ts >= hi:
            if current is not None:
                rows.append(DayRow(current, seconds, status or BEFORE_RECORD, cursor))
            current, cursor, hi = day_of(ts, zone)
            seconds = {}
        elapsed = ts - cursor
        if elapsed > 0:
            key = status or BEFORE_RECORD
            seconds[key] = seconds.get(key, 0.0) + elapsed
        cursor, status = ts, new_status
    if current is not None:
        rows.append(DayRow(current, seconds, status or BEFORE_RECORD, cursor))
    return rows


def timestamp_of(field: str) -> Func | F:
    """Read the datetime ``field`` as seconds since the epoch where the database can do it
    (PostgreSQL), as the datetime elsewhere; turn either into a float with
    ``as_timestamp``. For loops over thousands of rows."""
    return _Epoch(field) if connection.vendor == "postgresql" else F(field)


@overload
def as_timestamp(value: float | datetime) -> float: ...
@overload
def as_timestamp(value: None) -> None: ...
def as_timestamp(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, float):
        return value
    return value.timestamp()


class _Epoch(Func):
    """A PostgreSQL timestamp as seconds since the epoch (double precision): reading
    floats is ~3x cheaper than building thousands of aware datetimes in psycopg."""

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()
