"""Whatever the incident services accept renders everywhere (docs/architecture.md, "Hostile
input and access").

A property-based test: hypothesis draws component names, incident names, Markdown bodies,
times, statuses and component sets, from ordinary ones to hostile shapes (Go's zero time,
year 9999, odd UTC offsets, runs of ``[``, ``<a``, ``**``, right-to-left text, control
characters, lone surrogates, very long names). Each draw is posted through
``incidents.services`` as the admin and the API do. The service may refuse it (a
``ValidationError`` or ``ConflictError``); what it accepts must then render, in a page time
zone east of UTC and one west of it, on ``/``, the incident page, ``/history/``,
``/uptime/``, both feeds, ``/api/v1`` and ``/api/v2``, and in the notification e-mails
(text and HTML, built but not sent).

Profiles (registered in tests/conftest.py): ``ci`` (fixed seed, selected when CI=true) and
``long`` for a local run with many more examples (README, "Development").
"""

import json
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from email import message_from_bytes, policy

import feedparser
import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import event, given, note
from hypothesis import strategies as st

from components.models import Component
from incidents import services
from incidents.models import Incident, IncidentUpdate
from statusportal import limits, pagecache, ratelimit, revision
from statusportal.errors import ConflictError
from subscriptions import services as subscription_services
from subscriptions.models import NotificationEvent
from subscriptions.rendering import NotificationContext, notification_email

pytestmark = pytest.mark.django_db

# A page time zone east of UTC (+14:00, the easternmost) and one west of it (-11:00).
ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago")

NOW = datetime.now(UTC)

# --- Strategies -------------------------------------------------------------------------

# Markdown- and HTML-hostile pieces, repeated into long runs.
HOSTILE_PIECES = [
    "[",
    "]",
    "(",
    "[a](",
    "<a",
    "<a href='javascript:alert(1)'>x</a>",
    "<script>alert(1)</script>",
    "**",
    "_",
    "`",
    "```",
    "> ",
    "- ",
    "1. ",
    "*[x]: y\n",
    "[^1]",
    "|a|b|\n|-|-|\n",
    "&gt;",
    "&#0;",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "مرحبا",
    "שלום",
    "\x01",
    "\x0b",
    "\ufeff",
    "😀",
    "\n",
    "\r\n",
    "{{ x }}",
    "{% if %}",
]

# Any character UTF-8 can encode but NUL. NUL and lone surrogates cannot be stored in
# PostgreSQL, and every way in refuses them before the services: DRF's CharField prohibits
# both, Django's form fields prohibit NUL and decode a request's bytes, which cannot hold a
# lone surrogate. The services themselves let them through to the database (a DataError or
# UnicodeEncodeError, not a ValidationError), which only matters for callers in code.
_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)
_pieces = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), _text), min_size=1, max_size=12).map(
    "".join
)
_runs = st.builds(lambda piece, n: piece * n, st.sampled_from(HOSTILE_PIECES), st.integers(1, 3000))


def texts(*, long: int) -> st.SearchStrategy[str]:
    """Ordinary, hostile and very long text (``long``: about where the length limit is)."""
    # Mostly text the services accept (so that most examples are rendered), sometimes one
    # character over the limit.
    return st.one_of(
        _text.filter(str.strip),
        _pieces,
        _runs,
        _text.filter(str.strip),
        _pieces,
        st.builds(
            lambda c, n: c * n, st.sampled_from("xé😀["), st.sampled_from([long] * 3 + [long + 1])
        ),
    )


_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: dt_timezone(timedelta(minutes=minutes))
)
# Every aware time Python holds, the ends of the range, and times near now.
_any_time = st.one_of(
    st.datetimes(max_value=NOW.replace(tzinfo=None), timezones=_offsets),
    st.sampled_from(
        [
            datetime(1, 1, 1, tzinfo=UTC),  # Go's zero time
            datetime(1, 1, 1, tzinfo=dt_timezone(timedelta(hours=-11))),
            datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
            limits.EARLIEST,
        ]
    ),
    st.timedeltas(timedelta(days=-400), timedelta(minutes=4)).map(lambda d: NOW + d),
)
# Mostly none (as most posts are), sometimes any time at all.
display_ats = st.one_of(st.none(), st.none(), st.none(), _any_time)
schedule_starts = st.one_of(
    _any_time, st.timedeltas(timedelta(minutes=-90), timedelta(days=60)).map(lambda d: NOW + d)
)
# Mostly a window that ends after it starts, sometimes one that does not, or ends in 9999.
windows = st.sampled_from(
    [timedelta(hours=2), timedelta(minutes=1), timedelta(days=3), timedelta(days=400_000)] * 3
    + [timedelta(0), timedelta(hours=-1)]
)
remind_befores = st.one_of(
    st.none(), st.timedeltas(timedelta(0), timedelta(days=40)), st.just(timedelta(days=999_999))
)


def statuses(kind: str) -> st.SearchStrategy[str]:
    """Mostly a status of ``kind`` (so that most scenarios get posted), sometimes not."""
    valid = [status.value for status in Incident.statuses_for(kind)]
    others = [s for s in Incident.Status.values if s not in valid]
    return st.sampled_from(valid * 8 + others + ["", "bogus"])


COMPONENT_STATUSES = [*Component.Status.values, None, None, "", "bogus"]
IMPACTS = ["", "", "", "", *Incident.Impact.values, "bogus"]


@st.composite
def scenarios(draw):
    """A page's components and what operators post about them."""
    component_names = draw(st.lists(texts(long=limits.MAX_COMPONENT_NAME_LENGTH), max_size=3))
    kind = draw(st.sampled_from(Incident.Kind.values))
    opening = {
        "name": draw(texts(long=limits.MAX_NAME_LENGTH)),
        "kind": kind,
        "status": draw(statuses(kind)),
        "body": draw(texts(long=limits.MAX_UPDATE_BODY_LENGTH)),
        "impact_override": draw(st.sampled_from(IMPACTS)),
        "display_at": draw(display_ats),
        "deliver_notifications": True,
    }
    if kind == Incident.Kind.MAINTENANCE:
        starts = draw(schedule_starts)
        opening["scheduled_for"] = starts
        try:
            opening["scheduled_until"] = starts + draw(windows)
        except OverflowError:  # past year 9999
            opening["scheduled_until"] = datetime.max.replace(tzinfo=UTC)
        opening["remind_before"] = draw(remind_befores)
        opening["display_at"] = None  # the admin and API schedule without one
    later = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "status": statuses(kind),
                    "body": texts(long=limits.MAX_UPDATE_BODY_LENGTH),
                    "display_at": display_ats,
                }
            ),
            max_size=2,
        )
    )
    postmortem = draw(st.one_of(st.none(), texts(long=limits.MAX_POSTMORTEM_LENGTH)))
    # Which components (by index) each update names, and at which status.
    picks = st.dictionaries(st.integers(0, 2), st.sampled_from(COMPONENT_STATUSES), max_size=3)
    component_sets = [draw(picks) for _ in range(1 + len(later))]
    return {
        "component_names": component_names,
        "opening": opening,
        "later": later,
        "postmortem": postmortem,
        "component_sets": component_sets,
    }


def shown(value):
    """``value`` for the falsifying-example report, long strings cut short."""
    if isinstance(value, str) and len(value) > 80:
        return f"{value[:40]!r}... ({len(value)} characters)"
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shown(item) for item in value]
    return value


# --- Posting through the services -------------------------------------------------------


def _components(names: list[str]) -> list[Component]:
    made = []
    for position, name in enumerate(names):
        component = Component(name=name, position=position)
        try:
            component.full_clean()  # what the admin and the API check before saving
        except ValidationError:
            continue
        component.save()
        made.append(component)
    return made


def _changes(components: list[Component], picks: dict[int, str | None]) -> dict[str, str | None]:
    return {components[i].code: status for i, status in picks.items() if i < len(components)}


def post(scenario: dict) -> Incident | None:
    """Post the scenario through the services; None when a service refused it."""
    components = _components(scenario["component_names"])
    sets = scenario["component_sets"]
    try:
        incident = services.open_incident(
            **scenario["opening"], components=_changes(components, sets[0])
        )
        for update, picks in zip(scenario["later"], sets[1:], strict=False):
            services.post_update(incident, **update, components=_changes(components, picks))
        if scenario["postmortem"] is not None:
            services.resolve(incident)
            services.save_postmortem_draft(incident, body=scenario["postmortem"])
            services.publish_postmortem(incident, notify=True)
    except (ValidationError, ConflictError) as refusal:
        event(f"refused: {sorted(getattr(refusal, 'error_dict', {}) or ['?'])}")
        return None  # a clear refusal is a fine answer
    incident.refresh_from_db()
    return incident


# --- Rendering everywhere ---------------------------------------------------------------


def _forget_caches() -> None:
    cache.clear()
    ratelimit.counters().clear()
    pagecache.process_cache.clear()
    revision.forget()


def _get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content


def render_pages(client, incident: Incident) -> None:
    for url in ("/", incident.get_absolute_url(), "/history/", "/uptime/"):
        html = _get(client, url).decode()
        assert html.rstrip().endswith("</html>"), url
    for url in ("/history.atom", "/history.rss"):
        feed = feedparser.parse(_get(client, url))
        assert not feed.bozo, (url, feed.bozo_exception)
        assert incident.code in {
            entry.link.rstrip("/").rsplit("/", 1)[-1] for entry in feed.entries
        }
    for url in (
        "/api/v1/incidents/",
        f"/api/v1/incidents/{incident.code}/",
        "/api/v1/maintenances/",
        "/api/v1/components/",
        "/api/v2/summary.json",
        "/api/v2/incidents.json",
        "/api/v2/scheduled-maintenances.json",
        "/api/v2/components.json",
    ):
        json.loads(_get(client, url))


def render_emails(incident: Incident, subscriber) -> None:
    for recorded in NotificationEvent.objects.filter(incident=incident):
        message = notification_email(NotificationContext.for_event(recorded), subscriber)
        # What the SMTP backend sends: the whole message as bytes, parsed back.
        parsed = message_from_bytes(message.message().as_bytes(), policy=policy.default)
        text = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        assert text is not None and html is not None
        assert incident.code in html.get_content()
        assert parsed["Subject"]


@pytest.fixture
def reader(client, settings):
    settings.STATUSPAGE_URL = "https://status.example.com"
    # Caches of this process only: the property clears them for every example, and clearing
    # a shared Redis that often would reset the counters of tests running beside it.
    settings.CACHES = {
        alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": alias}
        for alias in settings.CACHES
    }
    return client


@given(scenario=scenarios())
def test_whatever_the_services_accept_renders_everywhere(reader, settings, scenario):
    with transaction.atomic():
        _forget_caches()
        subscriber = subscription_services.add_subscriber(
            "eve@example.com", confirmed=True, send_confirmation=False
        )
        note(shown(scenario))
        # A database error (a value the services let through to a column that cannot hold
        # it) fails the test: whatever is refused is refused by the services, clearly.
        incident = post(scenario)
        if incident is None:
            event("refused by the service")
        else:
            event("rendered")
            for zone in ZONES:
                settings.STATUSPAGE_TIME_ZONE = zone
                _forget_caches()
                render_pages(reader, incident)
                render_emails(incident, subscriber)
        transaction.set_rollback(True)
    _forget_caches()


# --- What the property found, pinned --------------------------------------------------


def test_a_control_character_in_a_name_leaves_both_feeds_well_formed(reader, open_incident):
    # Nothing on the way in refuses \x17; Django's feed writer raised on it (a 500).
    incident = open_incident(name="Login\x17 fails", body="Errors\x0b here.")
    for url in ("/history.atom", "/history.rss"):
        feed = feedparser.parse(_get(reader, url))
        assert not feed.bozo, feed.bozo_exception
        assert feed.entries[0].title == "Login fails"
    assert "Login\x17 fails" in _get(reader, incident.get_absolute_url()).decode()


@pytest.mark.parametrize("zone", ZONES)
def test_gos_zero_time_renders_on_every_page_in_both_zones(reader, settings, zone, open_incident):
    # The services now refuse such a time (statusportal.limits), but rows written before
    # that rule (or by an older import) may hold one: the pages must still render them.
    # /history/ was a 500 for it, and the list of past incidents on / would have been.
    settings.STATUSPAGE_TIME_ZONE = zone
    zero = datetime(1, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError):
        open_incident(display_at=zero)
    incident = open_incident()
    services.resolve(incident)
    Incident.objects.filter(pk=incident.pk).update(started_at=zero, resolved_at=zero)
    IncidentUpdate.objects.filter(incident=incident).update(display_at=zero)
    render_pages(reader, incident)
    assert "0001" in _get(reader, incident.get_absolute_url()).decode()
