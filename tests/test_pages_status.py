"""The public status page `/`: banner, active incidents, maintenance, components with their
uptime bars, past incidents, and a query count that does not grow with the history."""

import re
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone
from django.utils.html import strip_tags

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.models import Incident
from incidents.templatetags.status_tags import quiet_day_text

S = Component.Status


def text(response) -> str:
    """What a reader sees: the page's text with whitespace collapsed."""
    return " ".join(strip_tags(response.content.decode()).split())


def html(response) -> str:
    return response.content.decode()


def bars(page: str) -> dict[str, list[tuple[str, str]]]:
    """Each component's uptime bars, in order: (status class, what the bar tells on hover
    and focus). A bar is a focusable list item whose aria-label (followed, for a quiet
    day, by the shared description it points to) is also its tooltip."""
    rows = re.findall(
        r'<ol class="bars" aria-label="Daily uptime of ([^"]*), last 90 days">(.*?)</ol>',
        page,
        re.S,
    )
    # Quiet days share one description (aria-describedby), drawn after their date.
    notes = dict(re.findall(r'<p id="([^"]*)" hidden>([^<]*)</p>', page))
    found = {}
    for name, items in rows:
        days = re.findall(
            r'<li(?: class="([^"]*)")? tabindex="0" aria-label="([^"]*)"'
            r'(?: aria-describedby="([^"]*)")?></li>',
            items,
        )
        assert len(days) == items.count("<li"), "every bar is focusable and labelled"
        found[unescape(name)] = [
            (css, unescape(label) + (f"\n{unescape(notes[note])}" if note else ""))
            for css, label, note in days
        ]
    return found


def get(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200
    return response


def test_all_operational_banner(client, rest, graphql, website):
    page = get(client)
    assert "All Systems Operational" in text(page)
    assert 'class="banner ind-none"' in html(page)


@pytest.mark.parametrize(
    ("status", "banner", "indicator"),
    [
        (S.MAJOR_OUTAGE, "Major System Outage", "critical"),
        (S.PARTIAL_OUTAGE, "Partial System Outage", "major"),
        (S.DEGRADED_PERFORMANCE, "Minor Service Outage", "minor"),
        (S.UNDER_MAINTENANCE, "Service Under Maintenance", "maintenance"),
    ],
)
def test_banner_follows_the_worst_component_with_words_not_only_colour(
    client, rest, website, status, banner, indicator
):
    rest.set_status(status)
    page = get(client)
    assert f'class="banner ind-{indicator}"' in html(page)
    assert banner in text(page)
    assert f"REST API {status.label}" in text(page)  # the component's status in words


def test_active_incident_shows_impact_latest_update_and_link(client, open_incident):
    incident = open_incident(name="API errors", body="Looking into it.")
    services.post_update(incident, status="investigating", body="Still digging.")
    page = get(client)
    body = text(page)
    assert "API errors" in body and "Critical impact" in body
    # The latest update only, labelled "Update" because it kept the status.
    assert "Update - Still digging." in body
    assert "Looking into it." not in body.split("Components")[0]
    assert f'href="/incidents/{incident.code}/"' in html(page)
    assert f'href="/incidents/{incident.code}/subscribe/"' in html(page)
    assert "This incident affects: API (REST API)" in body


def test_groups_collapse_and_show_their_worst_status(client, rest, graphql, website):
    page = get(client)
    assert '<details class="group">' in html(page)  # closed while all is well
    graphql.set_status(S.PARTIAL_OUTAGE)
    page = get(client)
    summary = re.search(r"<summary>(.*?)</summary>", html(page), re.S).group(1)
    assert "API" in summary and "Partial outage" in strip_tags(summary)
    assert '<details class="group" open>' in html(page)


def test_component_description_is_available_on_hover_and_focus(client, db):
    Component.objects.create(name="CDN", description="Static assets worldwide")
    page = html(get(client))
    assert 'tabindex="0" role="button" aria-label="About CDN: Static assets worldwide"' in page
    assert '<span class="tip tip-left" role="tooltip">Static assets worldwide</span>' in page


def test_only_show_if_degraded_components_appear_only_when_degraded(client, website):
    quiet = Component.objects.create(name="Legacy SOAP", only_show_if_degraded=True)
    assert "Legacy SOAP" not in text(get(client))
    quiet.set_status(S.DEGRADED_PERFORMANCE)
    assert "Legacy SOAP Degraded performance" in text(get(client))


def test_showcased_components_have_90_daily_bars_and_a_percentage(client, db):
    now = timezone.now()
    shown = Component.objects.create(name="Shown", start_date=date.today() - timedelta(days=200))
    ComponentStatusChange.objects.filter(component=shown).update(at=now - timedelta(days=200))
    Component.objects.create(name="Not shown", showcase=False)
    # Two hours of major outage yesterday.
    at = (now - timedelta(days=1)).replace(hour=10, minute=0)
    ComponentStatusChange.objects.create(component=shown, new_status=S.MAJOR_OUTAGE, at=at)
    ComponentStatusChange.objects.create(
        component=shown, new_status=S.OPERATIONAL, at=at + timedelta(hours=2)
    )
    page = html(get(client))
    shown_bars = bars(page)["Shown"]
    assert len(shown_bars) == 90 and list(bars(page)) == ["Shown"]
    assert 'aria-label="Daily uptime of Shown, last 90 days"' in page
    assert "Daily uptime of Not shown" not in page
    covered = now - (now - timedelta(days=89)).replace(hour=0, minute=0, second=0, microsecond=0)
    expected = 100 * (1 - 7200 / covered.total_seconds())
    assert f"{int(expected * 100) / 100:.2f}% uptime" in page
    css, yesterday = shown_bars[88]
    assert css == "st-major_outage"
    assert "Major outage for 2 h." in yesterday.splitlines()
    day = (now - timedelta(days=1)).date()
    assert yesterday.splitlines()[0] == f"{day:%b} {day.day}, {day.year}:"


def test_quiet_days_share_one_description_that_the_stylesheet_draws(client, rest, graphql):
    ComponentStatusChange.objects.update(at=timezone.now() - timedelta(days=100))
    page = html(get(client))
    assert page.count('aria-describedby="day-quiet"') == 2 * 90  # two calm components
    assert page.count('id="day-quiet"') == 1
    quiet = quiet_day_text()
    assert quiet.splitlines() == ["100% uptime, no downtime.", "No incidents reported."]
    assert f'<p id="day-quiet" hidden>{quiet}</p>' in page
    for _, label in bars(page)["REST API"]:
        assert label.endswith(f":\n{quiet}")
    # The tooltip a sighted reader sees is drawn by the stylesheet: the same words.
    css = Path(finders.find("statusportal/status.css")).read_text()
    drawn = 'content: attr(aria-label) "\\A ' + quiet.replace("\n", "\\A ") + '"'
    assert drawn in css


def test_an_uptime_bar_names_the_incidents_of_its_day(client, open_incident, rest, graphql):
    long_ago = timezone.now() - timedelta(days=100)
    ComponentStatusChange.objects.update(at=long_ago)
    incident = open_incident(
        name="Database failover", display_at=timezone.now() - timedelta(minutes=3)
    )
    page = html(get(client))
    by_component = bars(page)
    # REST API's latest bar(s) name the incident.
    rest_bars = [label for _, label in by_component["REST API"]]
    named = [bar for bar in rest_bars if "Incident: Database failover." in bar.splitlines()]
    assert named and named[-1] == rest_bars[-1]
    assert any("Major outage for" in bar for bar in named)
    assert "No incidents reported." in rest_bars[0]
    assert "100% uptime, no downtime." in rest_bars[0]
    # GraphQL was not affected.
    assert not any("Database failover" in label for _, label in by_component["GraphQL"])
    assert incident.get_absolute_url() == f"/incidents/{incident.code}/"


def test_past_incidents_by_day_with_quiet_days(client, open_incident):
    three_days_ago = timezone.now() - timedelta(days=3)
    old = open_incident(name="Old trouble", display_at=three_days_ago)
    services.resolve(old)
    open_incident(name="Ancient trouble", display_at=timezone.now() - timedelta(days=20))
    page = get(client)
    past = text(page).split("Past incidents", 1)[1]
    assert past.count("No incidents reported") == 14
    assert "Old trouble" in past and "Ancient trouble" not in past
    assert "Resolved - This incident has been resolved." in past
    assert "Investigating - We are looking into it." in past


def test_maintenance_in_progress_and_upcoming_show_their_windows(client, rest, settings):
    settings.STATUSPAGE_TIME_ZONE = "America/Sao_Paulo"
    start = timezone.now() + timedelta(days=2)
    upcoming = services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned.",
        components={rest.code: None},
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
    )
    running = services.open_incident(
        name="Network work",
        kind=Incident.Kind.MAINTENANCE,
        status="in_progress",
        body="Under way.",
        components={rest.code: None},
        scheduled_for=timezone.now() - timedelta(hours=1),
        scheduled_until=timezone.now() + timedelta(hours=1),
    )
    body = text(get(client))
    assert "Scheduled maintenance" in body
    local = upcoming.scheduled_for.astimezone(timezone.get_fixed_timezone(-180))
    assert f"Scheduled: {local:%b %d, %Y - %H:%M} GMT-03:00" in body
    assert "Network work" in body.split("Components")[0]  # in progress: at the top
    assert "Service Under Maintenance" in body
    assert running.status == "in_progress"


def test_links_to_history_uptime_feeds_and_subscribe(client, db):
    page = html(get(client))
    for href in ("/history/", "/uptime/", "/history.atom", "/history.rss", "/subscribe/"):
        assert f'href="{href}"' in page


def _history(size: int):
    """``size`` resolved incidents over the past months plus some open ones, on a page
    with groups and showcased components."""
    group = ComponentGroup.objects.create(name=f"G{size}")
    comps = [
        Component.objects.create(name=f"C{size}-{i}", group=group if i % 2 else None)
        for i in range(4)
    ]
    now = timezone.now()
    for i in range(size):
        incident = services.open_incident(
            name=f"Incident {i}",
            status="investigating",
            body="Looking.",
            components={comps[i % 4].code: S.MAJOR_OUTAGE},
            display_at=now - timedelta(hours=7 * i + 1),
        )
        services.post_update(incident, status="identified", body="Found.")
        if i >= 2:
            services.resolve(incident)
    services.open_incident(
        name="Upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned.",
        components={comps[0].code: None},
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
    )


@pytest.mark.parametrize(("path", "bound"), [("/", 10), ("/history/", 3), ("/uptime/", 5)])
def test_query_count_is_the_same_for_small_and_large_histories(
    client, db, django_assert_max_num_queries, path, bound
):
    # The bound is the same for both sizes: nothing runs a query per incident,
    # per update, per component or per day.
    _history(3)
    with django_assert_max_num_queries(bound):
        assert client.get(path).status_code == 200
    _history(150)
    with django_assert_max_num_queries(bound):
        page = client.get(path)
    assert page.status_code == 200
    # The newest incidents show in past incidents (history) or in a bar's details (`/`).
    assert "Incident 149" in html(page) or path == "/uptime/"
