"""Template helpers of the public pages: times in the page's time zone, statuses with
their icon and words (colour is never the only signal), Markdown, uptime figures."""

from datetime import date, datetime
from functools import lru_cache
from html import escape

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from components.models import Component
from components.uptime import ComponentUptime, DaySummary, DayUptime, format_percent
from incidents.models import Incident
from incidents.pages import brief
from statusportal.markdown import render_markdown
from statusportal.timefmt import format_posted, gmt_offset, iso_ms, localize, page_zone

register = template.Library()

ComponentStatus = Component.Status

# Icon (a <symbol> id in base.html) for each component status, page indicator and impact.
STATUS_ICON: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "ok",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
}
INDICATOR_ICON = {
    "none": "ok",
    "minor": "minor",
    "major": "major",
    "critical": "critical",
    "maintenance": "maintenance",
}
IMPACT_LABEL: dict[str, str] = {
    Incident.Impact.NONE: "No impact",
    Incident.Impact.MINOR: "Minor impact",
    Incident.Impact.MAJOR: "Major impact",
    Incident.Impact.CRITICAL: "Critical impact",
    Incident.Impact.MAINTENANCE: "Maintenance",
}


@register.simple_tag
@lru_cache(maxsize=256)
def icon(name: str, label: str = ""):
    """An inline SVG icon from the sprite in base.html; decorative unless ``label``."""
    if label:
        return format_html(
            '<svg class="icon icon-{}" role="img" aria-label="{}"><use href="#i-{}"></use></svg>',
            name,
            label,
            name,
        )
    return format_html(
        '<svg class="icon icon-{}" aria-hidden="true" focusable="false">'
        '<use href="#i-{}"></use></svg>',
        name,
        name,
    )


@register.simple_tag
def status_icon(status: str):
    return icon(STATUS_ICON.get(status, "ok"))


@register.filter
def status_label(status: str) -> str:
    return ComponentStatus.label_of(status, default=str(status or ""))


@register.simple_tag
def indicator_icon(indicator: str):
    return icon(INDICATOR_ICON.get(indicator, "ok"))


@register.filter
def impact_label(impact: str) -> str:
    return IMPACT_LABEL.get(impact, str(impact).title())


@register.filter
def impact_icon(impact: str) -> str | None:
    return {"none": "info", "maintenance": "maintenance"}.get(impact, INDICATOR_ICON.get(impact))


def _time(dt: datetime, fmt: str, text: str) -> SafeString:
    # data-fmt tells statusportal.js how to rewrite the text in the reader's time zone.
    # Built without format_html (a page has hundreds): every part is made of digits,
    # month abbreviations and fixed words, and the two texts are escaped anyway.
    return mark_safe(f'<time datetime="{iso_ms(dt)}" data-fmt="{fmt}">{escape(text)}</time>')


@register.simple_tag
def posted(dt: datetime | None):
    """``<time>Sep 09, 2021 - 20:34 GMT-03:00</time>`` in the page's time zone."""
    if dt is None:
        return ""
    return _time(dt, "posted", format_posted(dt))


@register.filter
def posted_text(dt: datetime | None) -> str:
    """The same text as ``posted`` without markup (feeds, attributes)."""
    return format_posted(dt) if dt else ""


@register.simple_tag
def span(start: datetime | None, end: datetime | None):
    """A short time span: ``Sep 09, 20:34 - 21:10 GMT-03:00``; the end is omitted while
    open, and its date only shown when it differs from the start's."""
    if start is None:
        return ""
    zone = page_zone()
    local_start = localize(start, zone)
    first = _time(start, "short", f"{local_start:%b %d, %H:%M}")
    if end is None:
        return format_html("{} {}", first, _zone_label(local_start))
    local_end = localize(end, zone)
    if local_end.date() == local_start.date():
        last = _time(end, "hm", f"{local_end:%H:%M}")
    else:
        last = _time(end, "short", f"{local_end:%b %d, %H:%M}")
    return format_html("{} \u2013 {} {}", first, last, _zone_label(local_end))


def _zone_label(local: datetime):
    return format_html('<span data-fmt="offset">{}</span>', gmt_offset(local))


@register.simple_tag
def page_time_zone() -> str:
    """``America/Sao_Paulo (GMT-03:00)``: the zone the page's times are shown in."""
    now = timezone.now().astimezone(page_zone())
    return f"{settings.STATUSPAGE_TIME_ZONE} ({gmt_offset(now)})"


@register.filter
@lru_cache(maxsize=1024)
def day_label(day: date) -> str:
    """``Sep 9, 2021``."""
    return f"{day:%b} {day.day}, {day.year}"


@register.filter
def month_label(month) -> str:
    """``September 2021`` for a pages.Month (or a date)."""
    first = month.first_day if hasattr(month, "first_day") else month
    return f"{first:%B %Y}"


@register.filter
def markdown(text: str):
    return render_markdown(text)


@register.filter("brief")
def brief_filter(update, words: int = 60) -> SafeString:
    """``{{ update|brief:80 }}``: an update's summary, one rule for every page
    (``incidents.pages.brief``)."""
    return brief(update.html, words)


# The instant as statusportal.js reads it (data-at of grouped items).
register.filter("iso_ms", iso_ms)


@register.filter
def percent(value) -> str:
    return format_percent(value)


@register.filter
def duration(seconds: float) -> str:
    """``2 h 5 min`` (at least ``1 min``)."""
    return _duration(max(round(seconds / 60), 1))


@lru_cache(maxsize=2048)
def _duration(minutes: int) -> str:
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = []
    if days:
        parts.append(f"{days} d")
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


@register.filter
def bar_class(day) -> str:
    """CSS class of an uptime bar / calendar cell: the worst status of the day."""
    if day is None:
        return "out"
    worst = day.worst_status
    return "nodata" if worst is None else f"st-{worst}"


def _sentence(line: str) -> str:
    # Each line ends with punctuation so that a screen reader, which reads the lines as
    # one label, pauses between them.
    return line if line[-1:] in ".!?:" else line + "."


@register.filter
def day_details(day: DayUptime) -> str:
    """What an uptime bar or calendar cell tells on hover and focus: its date, its uptime
    and the time spent in each outage status, and the incidents of the day — one line
    each. The same text is the element's ``aria-label`` (read by screen readers) and, by
    CSS (``content: attr(aria-label)``), its visible tooltip."""
    return _details(day, day.summary())


def _details(day: DayUptime, summary: DaySummary) -> str:
    date_line = f"{day_label(day.day)}:"
    if summary.percent is None:
        return f"{date_line}\nNo data."
    outages = summary.outages
    percent = format_percent(summary.percent)
    lines = [date_line, f"{percent} uptime." if outages else f"{percent} uptime, no downtime."]
    for status, seconds in outages:
        lines.append(f"{status_label(status)} for {duration(seconds)}.")
    for ref in day.incidents:
        kind = "Maintenance" if ref["impact"] == Incident.Impact.MAINTENANCE else "Incident"
        lines.append(_sentence(f"{kind}: {ref['name']}"))
    if not day.incidents:
        lines.append("No incidents reported.")
    return "\n".join(lines)


@register.simple_tag
def uptime_bars(uptime: ComponentUptime, name: str) -> SafeString:
    """The 90 bars of a component as one ``<ol>``, built here rather than by template
    includes: one short element per day whose details live in a single attribute (see
    ``day_details``) is ~8x smaller and ~20x faster to render than nested tooltip markup
    (the status page draws 30 components x 90 days). Which edge a tooltip is anchored to
    is decided in CSS by the bar's position."""
    parts = [
        f'<ol class="bars" aria-label="Daily uptime of {escape(name)}, '
        f'last {len(uptime.days)} days">'
    ]
    for day in uptime.days:
        by_status = day.seconds_by_status
        if not day.incidents and len(by_status) == 1 and ComponentStatus.OPERATIONAL in by_status:
            # Most days: all operational and quiet. Their bar is the same for every
            # component; build it once per date.
            parts.append(_quiet_bar(day))
            continue
        summary = day.summary()
        worst = summary.worst_status
        if worst is None:
            css = ' class="nodata"'
        elif worst == ComponentStatus.OPERATIONAL:
            css = ""
        else:
            css = f' class="st-{worst}"'
        details = escape(_details(day, summary))
        parts.append(f'<li{css} tabindex="0" aria-label="{details}"></li>')
    parts.append("</ol>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above


# Most days are quiet: operational all day, no incidents. Their details after the date
# are the same everywhere, so a quiet bar carries only its date (aria-label) and points
# (aria-describedby) to one shared, hidden description printed by {% quiet_day_note %};
# the stylesheet draws the same text after the date. This halves the bars' bytes on a
# calm page; tests check that the stylesheet's text is this one.
QUIET_DAY_ID = "day-quiet"


def _quiet(day: date) -> DayUptime:
    return DayUptime(day, 1.0, {ComponentStatus.OPERATIONAL: 1.0})


def quiet_day_text() -> str:
    """What a quiet day tells after its date (one line each)."""
    return day_details(_quiet(date(2000, 1, 1))).split("\n", 1)[1]


@lru_cache(maxsize=512)
def _quiet_bar_of(day: date) -> str:
    date_line = day_details(_quiet(day)).split("\n", 1)[0]
    return (
        f'<li tabindex="0" aria-label="{escape(date_line)}" aria-describedby="{QUIET_DAY_ID}"></li>'
    )


def _quiet_bar(day: DayUptime) -> str:
    """The bar of a day spent operational (with data) and without incidents."""
    return _quiet_bar_of(day.day)


@register.simple_tag
def quiet_day_note() -> SafeString:
    """The shared description of quiet bars (once per page that shows bars)."""
    return format_html('<p id="{}" hidden>{}</p>', QUIET_DAY_ID, quiet_day_text())


@register.simple_tag
def past_incident(incident) -> SafeString:
    """One incident of the status page's past incidents: its name (linked, with its impact
    in words for screen readers) and every update's label, first words and time. Built
    here rather than by template loops: the page lists ~100 incidents with ~400 updates."""
    name = escape(incident.name)
    parts = [
        # data-at: the start the incident is grouped by; statusportal.js regroups the
        # days in the reader's zone.
        f'<article class="past-incident" data-at="{iso_ms(incident.started_at)}">\n'
        f'<h4 class="incident-title impact-{escape(incident.impact)}">'
        f'<a href="{escape(incident.get_absolute_url())}">{name}</a>\n'
        f'<span class="visually-hidden">({escape(impact_label(incident.impact))})</span></h4>'
    ]
    for update in incident.timeline:
        parts.append(
            f'\n<div class="update-brief">\n<p><strong>{escape(update.label)}</strong> - '
            f"{brief(update.html, 60)}</p>\n"
            f'<p class="posted">{posted(update.display_at)}</p>\n</div>'
        )
    parts.append("\n</article>")
    return mark_safe("".join(parts))  # texts escaped above; brief and posted are safe HTML
