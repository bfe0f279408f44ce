"""How times are shown: pages in the page's time zone, JSON in ISO-8601 with milliseconds.

Every function here formats any aware ``datetime`` Python can hold, in every zone: a time
within a day of ``datetime.min``/``datetime.max`` (Go's zero time ``0001-01-01T00:00:00Z``
is the usual one) cannot be moved into a zone west (or east) of UTC without leaving the
range, so it is shown in UTC instead of crashing the page. New values are kept inside a sane
range by ``statusportal.limits``; this is for whatever is already stored.
"""

from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def page_zone() -> tzinfo:
    return _zone(settings.STATUSPAGE_TIME_ZONE)


def localize(dt: datetime, zone: tzinfo | None = None) -> datetime:
    """``dt`` in the page's time zone (or ``zone``); in UTC when that zone would take it
    out of the range a ``datetime`` can hold (year 1 west of UTC, year 9999 east of it)."""
    try:
        return dt.astimezone(zone or page_zone())
    except (OverflowError, ValueError):
        return dt.astimezone(UTC)


def gmt_offset(dt: datetime) -> str:
    """``GMT-03:00`` for a time zone-aware datetime."""
    offset = dt.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours:02d}:{mins:02d}"


def format_posted(dt: datetime, zone: tzinfo | None = None) -> str:
    """``Sep 09, 2021 - 20:34 GMT-03:00`` in the page's time zone (or ``zone``)."""
    local = localize(dt, zone)
    # Not strftime: "%Y" drops the leading zeros of years before 1000 on glibc.
    return (
        f"{MONTHS[local.month - 1]} {local.day:02d}, {local.year:04d} - "
        f"{local.hour:02d}:{local.minute:02d} {gmt_offset(local)}"
    )


def iso_ms(dt: datetime | None) -> str | None:
    """``2021-09-09T23:34:00.000Z``: ISO-8601 in UTC with milliseconds, as clients expect."""
    if dt is None:
        return None
    utc = dt.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )
