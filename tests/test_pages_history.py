"""`/history/` (by month, paginated by quarter) and `/uptime/` (three-month calendars)."""

import calendar
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import strip_tags

from components.models import Component, ComponentStatusChange
from components.uptime import local_today
from incidents import services
from incidents.models import Incident

S = Component.Status


def text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def months_ago(n: int, day: int = 10):
    """Noon on ``day`` of the month ``n`` months before the current one (UTC)."""
    now = timezone.now()
    index = now.year * 12 + now.month - 1 - n
    return now.replace(
        year=index // 12, month=index % 12 + 1, day=day, hour=12, minute=0, second=0, microsecond=0
    )


def test_history_groups_by_month_newest_first(client, open_incident):
    open_incident(name="Last month trouble", display_at=months_ago(1))
    recent = open_incident(name="Recent trouble", display_at=timezone.now() - timedelta(minutes=5))
    services.resolve(recent, body="Fixed it for good.")
    response = client.get("/history/")
    assert response.status_code == 200
    body = text(response)
    this_month = f"{timezone.now():%B %Y}"
    last_month = f"{months_ago(1):%B %Y}"
    two_ago = f"{months_ago(2):%B %Y}"
    assert body.index(this_month) < body.index("Recent trouble") < body.index(last_month)
    assert body.index(last_month) < body.index("Last month trouble") < body.index(two_ago)
    assert body.split(two_ago)[1].strip().startswith("No incidents reported this month.")
    # First lines of the last update, and the incident's status while it is open.
    assert "Recent trouble (Critical impact) Fixed it for good." in body
    assert "Last month trouble (Critical impact) We are looking into it." in body
    assert "Investigating" in body.split("Last month trouble")[1]


def test_summary_is_cut_to_the_first_lines(client, open_incident):
    open_incident(name="Wordy", body="word " * 200)
    body = text(client.get("/history/"))
    summary = body.split("Wordy (Critical impact)", 1)[1].split("…")[0]
    assert 100 < len(summary) < 240


def test_summary_is_the_text_readers_see_without_markup(client, open_incident):
    # The same summary as the status page's (incidents.pages.brief), not Markdown source.
    open_incident(name="Marked up", body="Errors on **checkout**, see [the API](https://x.test).")
    body = text(client.get("/history/"))
    assert "Marked up (Critical impact) Errors on checkout, see the API." in body


def test_older_link_skips_empty_quarters(client, open_incident):
    open_incident(name="Ancient trouble", display_at=months_ago(8))
    page1 = client.get("/history/").content.decode()
    assert "Ancient trouble" not in page1
    # Months 0-2 are page 1, 3-5 page 2, 6-8 page 3: page 2 is empty and skipped.
    assert '<a href="/history/?page=3" rel="next">Older incidents →</a>' in page1
    page3 = client.get("/history/?page=3")
    assert "Ancient trouble" in text(page3)
    assert '<a href="/history/?page=2" rel="prev">' in page3.content.decode()
    assert "Older incidents" not in text(page3)


def test_scheduled_maintenance_is_not_history_yet(client, rest):
    start = timezone.now() + timedelta(days=3)
    services.open_incident(
        name="Future upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned.",
        components={rest.code: None},
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
    )
    assert "Future upgrade" not in text(client.get("/history/"))


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "9999999", "99999"])
@pytest.mark.parametrize("path", ["/history/", "/uptime/"])
def test_bad_page_numbers_are_404_not_500(client, db, path, page):
    assert client.get(path, {"page": page}).status_code == 404


def test_uptime_page_shows_three_months_per_showcased_component(client, rest, website):
    long_ago = timezone.now() - timedelta(days=200)
    ComponentStatusChange.objects.update(at=long_ago)
    Component.objects.filter(pk=website.pk).update(showcase=False)
    incident_day = months_ago(1, day=12)
    services.open_incident(
        name="Calendar outage",
        status="investigating",
        body="Down.",
        components={rest.code: S.MAJOR_OUTAGE},
        display_at=incident_day,
    )
    ComponentStatusChange.objects.filter(new_status=S.MAJOR_OUTAGE).update(at=incident_day)
    response = client.get("/uptime/")
    assert response.status_code == 200
    html = response.content.decode()
    body = text(response)
    assert "REST API" in body and "Website" not in body.split("Uptime")[2]
    for n in (2, 1, 0):
        assert f"{months_ago(n):%B %Y}" in body
    # Each day is a focusable cell whose aria-label (also its tooltip) tells the details.
    cells = re.findall(
        r'<td class="cell ([^"]*)" tabindex="0" aria-label="([^"]*)">(.*?)</td>', html, re.S
    )
    day_label = f"{incident_day:%b} {incident_day.day}, {incident_day.year}"
    (cell,) = [c for c in cells if unescape(c[1]).startswith(f"{day_label}:")]
    assert cell[0].startswith("st-major_outage")
    details = unescape(cell[1]).splitlines()
    assert "Incident: Calendar outage." in details and "Major outage for 12 h." in details
    assert f">{incident_day.day}</span>" in cell[2]  # the day's number in the cell


# --- /uptime/: one component's calendar, a picker of all of them ----------------------

CALENDAR_TITLE = re.compile(r'<section class="uptime-component card" aria-labelledby="up-(\w+)">')
PICKS = re.compile(
    r'<a class="pick" href="([^"]*)"( aria-current="page")?>'
    r'<span class="pick-name">([^<]*)</span> <span class="pick-pct">([^<]*)</span>'
)


def picker(html: str) -> list[tuple[str, str, bool, str]]:
    """(name, link, chosen, percent) of each component in the picker, in order."""
    return [
        (name, unescape(href), bool(current), pct)
        for href, current, name, pct in PICKS.findall(html)
    ]


def test_uptime_shows_the_first_component_of_the_page_and_picks_any_other(
    client, api_group, rest, graphql, website
):
    # Page order: Website (stand-alone, position 0), then the API group: REST API, GraphQL.
    long_ago = timezone.now() - timedelta(days=200)
    ComponentStatusChange.objects.update(at=long_ago)
    Component.objects.update(created_at=long_ago)
    day = months_ago(1, day=12)
    services.open_incident(
        name="Calendar outage",
        status="investigating",
        body="Down.",
        components={graphql.code: S.MAJOR_OUTAGE},
        display_at=day,
    )
    ComponentStatusChange.objects.filter(new_status=S.MAJOR_OUTAGE).update(at=day)

    html = client.get("/uptime/").content.decode()
    # By default: the first component in page order, one calendar only.
    assert CALENDAR_TITLE.findall(html) == [website.code]
    picks = picker(html)
    assert [(name, chosen) for name, _, chosen, _ in picks] == [
        ("Website", True),
        ("REST API", False),
        ("GraphQL", False),
    ]
    assert picks[1][1] == f"/uptime/?component={rest.code}"
    # Each pick tells its uptime over the same months: GraphQL's outage shows there.
    assert picks[0][3] == "100%" and picks[2][3] != "100%"
    assert '<span class="picker-group">API</span>' in html
    assert "<title>Uptime of Website · " in html
    # Days still to come show their number only: no status colour, details or tab stop.
    today = local_today(timezone.now())
    future = [int(n) for n in re.findall(r'<td class="cell future">(\d+)</td>', html)]
    month_days = calendar.monthrange(today.year, today.month)[1]
    assert future == list(range(today.day + 1, month_days + 1))

    response = client.get(picks[2][1])
    html = response.content.decode()
    assert CALENDAR_TITLE.findall(html) == [graphql.code]
    assert [chosen for _, _, chosen, _ in picker(html)] == [False, False, True]
    assert "Incident: Calendar outage." in unescape(html)
    # Older and newer quarters keep the chosen component.
    assert f'href="/uptime/?component={graphql.code}&amp;page=2" rel="next"' in html
    page_two = client.get(f"/uptime/?component={graphql.code}&page=2").content.decode()
    assert CALENDAR_TITLE.findall(page_two) == [graphql.code]
    assert f'href="/uptime/?component={rest.code}&amp;page=2"' in page_two
    assert f'href="/uptime/?component={graphql.code}" rel="prev"' in page_two


@pytest.mark.parametrize("code", ["nosuchcode", "", "../admin", "x" * 300])
def test_an_unknown_component_on_uptime_is_a_404_naming_it(client, rest, code):
    response = client.get("/uptime/", {"component": code})
    assert response.status_code == 404
    assert "Component not found" in response.content.decode()


def test_a_component_without_uptime_cannot_be_picked(client, rest, website):
    Component.objects.filter(pk=website.pk).update(showcase=False)
    assert client.get("/uptime/", {"component": website.code}).status_code == 404
    html = client.get("/uptime/").content.decode()
    assert [name for name, *_ in picker(html)] == ["REST API"]


def test_uptime_with_no_components_says_so(client, db):
    response = client.get("/uptime/")
    assert response.status_code == 200
    assert "No components show uptime yet." in response.content.decode()
    assert "uptime-picker" not in response.content.decode()


def test_uptime_costs_the_same_queries_with_more_components(client, api_group):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/uptime/").status_code == 200
        return len(captured)

    Component.objects.create(name="One", group=api_group)
    few = queries()
    for n in range(12):
        Component.objects.create(name=f"More {n}", group=api_group if n % 2 else None)
    assert queries() == few
