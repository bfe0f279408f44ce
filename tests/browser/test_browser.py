"""What a reader sees in a real browser (headless Debian Chromium driven by Playwright):
the banner, a group opening, an uptime bar's details on focus and hover, updates newest
first, and history. Screenshots land in test-artifacts/screenshots/ for a person to check.
"""

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
S = Component.Status


@pytest.fixture
def page_data(settings):
    """A page in trouble: a grouped component in partial outage with an open incident,
    a resolved incident from yesterday, and upcoming maintenance."""
    settings.STATUSPAGE_NAME = "Acme"
    settings.STATUSPAGE_TIME_ZONE = "America/Sao_Paulo"
    now = timezone.now()
    api = ComponentGroup.objects.create(name="API", position=1, description="Public APIs")
    rest = Component.objects.create(
        name="REST API", group=api, position=1, description="api.acme.test"
    )
    Component.objects.create(name="GraphQL", group=api, position=2)
    website = Component.objects.create(name="Website", position=0)
    ComponentStatusChange.objects.update(at=now - timedelta(days=120))
    yesterday = services.open_incident(
        name="Website slow",
        status="investigating",
        body="Pages are slow.",
        components={website.code: S.DEGRADED_PERFORMANCE},
        display_at=now - timedelta(days=1, hours=2),
    )
    ComponentStatusChange.objects.filter(cause__incident_update__incident=yesterday).update(
        at=now - timedelta(days=1, hours=2)
    )
    services.resolve(yesterday)
    ComponentStatusChange.objects.filter(cause__incident_update__incident=yesterday).exclude(
        new_status=S.DEGRADED_PERFORMANCE
    ).update(at=now - timedelta(days=1))
    incident = services.open_incident(
        name="Elevated API errors",
        status="investigating",
        body="We are investigating **elevated errors**.",
        components={rest.code: S.PARTIAL_OUTAGE},
        display_at=now - timedelta(minutes=50),
    )
    services.post_update(
        incident, status="identified", body="A bad deploy.", display_at=now - timedelta(minutes=30)
    )
    services.post_update(incident, status="identified", body="Rollback half done.")
    start = now + timedelta(days=2)
    services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned upgrade.",
        components={rest.code: None},
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
    )
    return {"incident": incident, "yesterday": yesterday}


def tooltip(day) -> dict:
    """The tooltip of an uptime bar or calendar cell as the browser draws it (CSS
    ``::after``): whether it is shown, its width, the text it draws, and what a screen
    reader is told: the element's aria-label, then its description (aria-describedby)."""
    style = day.evaluate(
        """el => {
            const style = getComputedStyle(el, "::after");
            const note = el.getAttribute("aria-describedby");
            return {display: style.display, content: style.content, width: style.width,
                    label: el.getAttribute("aria-label"),
                    note: note ? document.getElementById(note).textContent : null};
        }"""
    )
    # The computed content is a list of CSS strings; \a is a line break.
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', style["content"])
    drawn = "".join(strings)
    drawn = re.sub(r"\\a ?", "\n", drawn).replace('\\"', '"').replace("\\\\", "\\")
    told = style["label"] + (f"\n{style['note']}" if style["note"] else "")
    return {
        "shown": style["display"] != "none" and bool(drawn),
        # The used width in px while drawn ("max-content" while hidden).
        "width": float(style["width"][:-2]) if style["width"].endswith("px") else 0,
        "text": drawn,
        "told": told,
        "label": style["label"],
    }


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_reader_sees_status_incident_and_history(live_server, page_data, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")

    banner = page.locator(".banner")
    assert banner.inner_text().strip() == "Partial System Outage"

    # The API group is open because REST API is degraded; GraphQL can be collapsed and
    # reopened with a click on the summary (a <details> element, no script needed).
    group = page.locator("details.group")
    graphql = group.locator(".component-name", has_text="GraphQL")
    assert graphql.is_visible()
    group.locator("summary").click()
    assert not graphql.is_visible()
    group.locator("summary").click()
    assert graphql.is_visible()
    assert "Partial outage" in group.locator("summary").inner_text()

    # Keyboard focus on REST API's latest bar shows its details.
    rest_bars = page.locator(".component", has_text="REST API").locator(".bars > li")
    assert rest_bars.count() == 90
    today = rest_bars.nth(89)
    assert not tooltip(today)["shown"]
    today.focus()
    tip = tooltip(today)
    assert tip["shown"] and tip["width"] > 100, tip
    assert "Partial outage for" in tip["text"] and "Elevated API errors" in tip["text"]
    assert tip["text"] == tip["told"]
    # A screen reader is told the same (the bar's accessible name).
    assert page.get_by_role("listitem", name=tip["label"]).count() == 1
    shoot(page, "status-bar-focus-desktop")

    # Hover on the Website bar of yesterday shows that day's incident.
    website_bars = page.locator(".component", has_text="Website").locator(".bars > li")
    website_bars.nth(88).hover()
    hovered = tooltip(website_bars.nth(88))
    assert hovered["shown"] and hovered["width"] > 100
    assert "Website slow" in hovered["text"] and hovered["text"] == hovered["told"]
    page.mouse.move(0, 0)
    assert not tooltip(website_bars.nth(88))["shown"]
    # A quiet day (no downtime, no incident) shows and tells the same, from its shared
    # description.
    website_bars.nth(10).focus()
    quiet = tooltip(website_bars.nth(10))
    assert quiet["shown"] and quiet["text"] == quiet["told"]
    assert quiet["text"].endswith(":\n100% uptime, no downtime.\nNo incidents reported.")
    today.focus()
    shoot(page, "status-desktop-light")

    # The optional switch rewrites times in the reader's zone (here the browser's, UTC).
    posted = page.locator(".active-card .posted time").first
    assert posted.inner_text().endswith("GMT-03:00")
    page.get_by_role("button", name="Show my time zone").click()
    assert posted.inner_text().endswith("GMT+00:00")
    page.get_by_role("button", name="Show the page's time zone").click()
    assert posted.inner_text().endswith("GMT-03:00")

    # The incident page: updates newest first, "Update" when the status stayed the same.
    page.get_by_role("link", name="Elevated API errors").first.click()
    page.wait_for_url(f"**/incidents/{page_data['incident'].code}/")
    labels = page.locator(".update-label").all_inner_texts()
    assert labels == ["Update", "Identified", "Investigating"]
    bodies = page.locator(".update .prose").all_inner_texts()
    assert [b.strip() for b in bodies] == [
        "Rollback half done.",
        "A bad deploy.",
        "We are investigating elevated errors.",
    ]
    # Ongoing: "affects" (a resolved incident says "affected": tests/test_pages_incident.py).
    assert "This incident affects: API (REST API)" in page.locator(".affected").inner_text()
    shoot(page, "incident-desktop-light")

    page.goto(live_server.url + "/history/")
    items = page.locator(".history-item .incident-title a").all_inner_texts()
    assert items[:2] == ["Elevated API errors", "Website slow"]
    shoot(page, "history-desktop-light")
    page.close()


@pytest.mark.parametrize(("width", "scheme"), [(390, "light"), (390, "dark"), (1280, "dark")])
def test_pages_render_on_phone_and_desktop_in_light_and_dark(
    live_server, page_data, browser, width, scheme
):
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    size = "phone" if width < 600 else "desktop"
    for name, path in [
        ("status", "/"),
        ("incident", f"/incidents/{page_data['incident'].code}/"),
        ("history", "/history/"),
        ("uptime", "/uptime/"),
    ]:
        page.goto(live_server.url + path)
        # Nothing sticks out sideways (a phone would scroll horizontally).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px too wide at {width}px"
        shoot(page, f"{name}-{size}-{scheme}")
    page.goto(live_server.url + "/")
    bars = page.locator(".component", has_text="Website").locator(".bars > li")
    visible = sum(1 for i in range(90) if bars.nth(i).is_visible())
    assert visible == (30 if width < 600 else 90)
    page.close()


def test_uptime_days_are_one_tab_stop_per_component_with_arrow_keys(
    live_server, page_data, browser
):
    """A roving tabindex: Tab reaches each component's bars (and calendar) once; the
    arrow keys move between its days, each announced by its own label."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    lists = page.locator("ol.bars")
    assert lists.count() >= 2
    stops = page.locator("ol.bars li[tabindex='0']")
    assert stops.count() == lists.count()
    first = lists.nth(0)
    first.locator("li[tabindex='0']").focus()
    last_label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("ArrowLeft")
    label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert label and label != last_label
    assert first.locator("li[tabindex='0']").count() == 1
    page.keyboard.press("Home")
    assert page.evaluate(
        "document.activeElement === document.activeElement.parentNode.firstElementChild"
    )

    page.goto(live_server.url + "/uptime/")
    sections = page.locator(".uptime-component")
    assert page.locator("td.cell[tabindex='0']").count() == sections.count()
    start = page.locator("td.cell[tabindex='0']").first
    start.focus()
    start_label = page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("ArrowUp")  # a week earlier
    week_ago = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert week_ago and week_ago != start_label
    page.close()


def test_past_days_follow_the_readers_time_zone(live_server, browser, settings):
    """The status page groups past incidents by the page zone's days, the history by its
    months; after "Show my time zone" they are the reader's, here 17 hours ahead: an
    incident started on an evening in Los Angeles belongs to the next day in Tokyo."""
    settings.STATUSPAGE_TIME_ZONE = "America/Los_Angeles"
    los_angeles, tokyo = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Tokyo")
    now = timezone.now()
    page_day = now.astimezone(los_angeles).date() - timedelta(days=3)
    start = datetime.combine(page_day, time(20, 0), tzinfo=los_angeles)
    reader_day = start.astimezone(tokyo).date()
    assert reader_day == page_day + timedelta(days=1)
    incident = services.open_incident(
        name="Evening outage", status="investigating", body="Down.", display_at=start
    )
    services.resolve(incident)

    def label(day) -> str:
        return f"{day:%b} {day.day}, {day.year}"

    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(live_server.url + "/")
    days = page.locator("section.day:visible")

    def day_of(name: str) -> str:
        return days.filter(has_text=name).locator(".day-title").inner_text()

    assert day_of("Evening outage") == label(page_day)
    titles = days.locator(".day-title").all_inner_texts()
    assert titles[0] == label(now.astimezone(los_angeles).date()) and len(titles) == 15

    page.get_by_role("button", name="Show my time zone").click()
    assert day_of("Evening outage") == label(reader_day)
    titles = days.locator(".day-title").all_inner_texts()
    assert titles[0] == label(now.astimezone(tokyo).date()) and len(titles) >= 15
    assert titles == sorted(set(titles), key=titles.index)  # each day once
    quiet = days.filter(has_text=label(page_day))
    assert quiet.locator(".past-incident").count() == 0
    assert "No incidents reported." in quiet.inner_text()
    # Remembered on the next visit; back to the page's days on request.
    page.reload()
    assert day_of("Evening outage") == label(reader_day)
    page.get_by_role("button", name="Show the page's time zone").click()
    assert day_of("Evening outage") == label(page_day)
    assert len(days.locator(".day-title").all_inner_texts()) == 15

    # /history/ groups by month: an evening on the last day of a month in Los Angeles is
    # the first of the next month in Tokyo.
    month_start = now.astimezone(los_angeles).date().replace(day=1)
    month_end = datetime.combine(month_start - timedelta(days=1), time(20, 0), tzinfo=los_angeles)
    assert month_end.astimezone(tokyo).date() == month_start
    late = services.open_incident(
        name="Month-end outage", status="investigating", body="Down.", display_at=month_end
    )
    services.resolve(late)
    page.goto(live_server.url + "/history/")
    months = page.locator("section.month:visible")

    def month_of(name: str) -> str:
        return months.filter(has_text=name).locator(".month-title").inner_text()

    assert month_of("Month-end outage") == f"{month_end:%B %Y}"
    page_months = months.locator(".month-title").all_inner_texts()
    page.get_by_role("button", name="Show my time zone").click()
    assert month_of("Month-end outage") == f"{month_start:%B %Y}"
    assert months.locator(".month-title").all_inner_texts() == page_months
    page.get_by_role("button", name="Show the page's time zone").click()
    assert month_of("Month-end outage") == f"{month_end:%B %Y}"
    context.close()
