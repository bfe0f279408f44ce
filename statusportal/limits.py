"""What a value must look like to enter: one rule per kind, for every way in.

The services call these before they write, so the admin, ``/api/v1``, the Statuspage
``/v1`` API, integrations and imports share them; the API's filters call them too. Each
raises Django's ``ValidationError({field: message})``, which the admin shows beside the
field and the API answers as a 400 naming it.

- a *time* is aware, within ``[EARLIEST, now + MAX_YEARS_AHEAD]`` and has a UTC offset a
  real place uses (``-12:00`` … ``+14:00``): Go's zero time ``0001-01-01T00:00:00Z`` is what
  a buggy alerting script sends, and years 1 or 9999 cannot be shown in every time zone;
- a *duration* is not negative and at most a bound given per field (a reminder at most
  ``MAX_REMIND_BEFORE`` ahead);
- a *text* is at most its documented length (``MAX_*_LENGTH``), measured in characters;
- an API request body is at most ``MAX_JSON_BODY_BYTES`` nested ``MAX_JSON_DEPTH`` deep.
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

# The earliest time accepted anywhere (the Unix epoch; nothing happened to this page before).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# How far ahead a time may lie (maintenance is planned months ahead, not decades).
MAX_YEARS_AHEAD = 10
# UTC offsets in use on Earth run from -12:00 to +14:00.
MIN_OFFSET = timedelta(hours=-12)
MAX_OFFSET = timedelta(hours=14)

# How long before a maintenance window its reminder may go out.
MAX_REMIND_BEFORE = timedelta(days=30)

# Text lengths, in characters. Names are the model fields' max_length (CharField); the
# Markdown bodies are bounded so that rendering one stays cheap (statusportal.markdown).
MAX_NAME_LENGTH = 255  # incident names (Incident.name)
MAX_COMPONENT_NAME_LENGTH = 200  # component and group names
MAX_DESCRIPTION_LENGTH = 2_000  # component and group descriptions (shown on hover)
MAX_UPDATE_BODY_LENGTH = 20_000  # an incident update's Markdown body
MAX_POSTMORTEM_LENGTH = 100_000  # a postmortem's Markdown body
MAX_TEMPLATE_BODY_LENGTH = MAX_UPDATE_BODY_LENGTH  # an incident template's body

# API request bodies (statusportal.api.parsers): a postmortem at its maximum length fits
# several times over; deeper nesting than any of our documents has is refused.
MAX_JSON_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32


def latest(now: datetime | None = None) -> datetime:
    """The latest time accepted: ``MAX_YEARS_AHEAD`` years after ``now``."""
    now = now or timezone.now()
    return now + timedelta(days=365 * MAX_YEARS_AHEAD + MAX_YEARS_AHEAD // 4)


def check_time(field: str, value: datetime | None, *, now: datetime | None = None) -> None:
    """Raise ``ValidationError({field: …})`` unless ``value`` is a sane time (or None)."""
    if value is None:
        return
    if not isinstance(value, datetime):
        raise _error(field, "Give a date and time.", "invalid")
    offset = value.utcoffset()
    if offset is None:
        raise _error(field, "Give a time zone with the time.", "naive")
    if not MIN_OFFSET <= offset <= MAX_OFFSET:
        raise _error(field, "The UTC offset must lie between -12:00 and +14:00.", "offset")
    # Compare in naive UTC: converting a time near year 1 or 9999 may leave the range.
    try:
        utc = value.replace(tzinfo=None) - offset
    except OverflowError:  # in UTC, before year 1 or after year 9999
        utc = datetime.min if value.year == 1 else datetime.max
    if utc < EARLIEST.replace(tzinfo=None):
        raise _error(field, "The time must not be before 1970-01-01T00:00:00Z.", "too_early")
    if utc > latest(now).astimezone(UTC).replace(tzinfo=None):
        raise _error(
            field, f"The time must not be more than {MAX_YEARS_AHEAD} years ahead.", "too_late"
        )


def check_duration(
    field: str, value: timedelta | None, *, maximum: timedelta = MAX_REMIND_BEFORE
) -> None:
    """Raise ``ValidationError({field: …})`` unless ``0 <= value <= maximum`` (or None)."""
    if value is None:
        return
    if not isinstance(value, timedelta):
        raise _error(field, "Give a duration.", "invalid")
    if value < timedelta(0):
        raise _error(field, "The duration must not be negative.", "negative")
    if value > maximum:
        raise _error(field, f"The duration must be at most {_human(maximum)}.", "too_long")


def check_length(field: str, value: str | None, maximum: int) -> None:
    """Raise ``ValidationError({field: …})`` when ``value`` has more than ``maximum``
    characters."""
    if value is not None and len(value) > maximum:
        raise _error(
            field, f"At most {maximum:,} characters (this has {len(value):,}).", "max_length"
        )


def _error(field: str, message: str, code: str) -> ValidationError:
    """``ValidationError({field: message})`` whose message carries ``code``."""
    return ValidationError({field: ValidationError(message, code=code)})


def _human(delta: timedelta) -> str:
    if delta.seconds == 0 and delta.microseconds == 0:
        return f"{delta.days} days" if delta.days != 1 else "1 day"
    return str(delta)
