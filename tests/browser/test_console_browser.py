"""The operator console in a real browser (headless Chromium driven by Playwright), used as
an operator would during an outage: open an incident from a template, set a whole group,
post, and be stopped by a tab that went stale. Screenshots at 1,280 and 390 px land in
test-artifacts/screenshots/ for a person to check.

Clicks, counted from the incident list (typing text is not counted):

* Opening an incident from a template and marking a group of three more components
  degraded:
  before: "Add incident" 1, template link 1 (reloaded the page, dropping the typed name),
  retype the name, 3 component drop-downs x 2 clicks = 6, "Open and post" 1 (of two
  buttons)  -> 9 clicks.
  now: "Add incident" 1, template link 1 (fills in place, the name is kept), the group's
  "Set all" 2, "Open and post first update" 1  -> 5 clicks.
* Posting an update that moves a group of three components:
  before: "Unresolved" filter 1 (the list opened on every incident), incident name 1,
  status 1, 3 drop-downs x 2 = 6, "Post update" 1  -> 10 clicks.
  now: incident name 1 (the list opens on unresolved incidents), status 1, the group's
  "Set all" 2, "Post update" 1  -> 5 clicks.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.models import Incident, IncidentTemplate
from statusportal.roles import SUPPORT_STAFF, sync_support_staff_group

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
S = Component.Status


@pytest.fixture
def console_data(django_user_model):
    """Two groups of components, an open and a resolved incident, a template, and Sam
    (Support staff)."""
    api = ComponentGroup.objects.create(name="API", position=1)
    web = ComponentGroup.objects.create(name="Web", position=2)
    made = {}
    for group, names in (
        (api, ["REST API", "GraphQL", "Webhooks"]),
        (web, ["Website", "Dashboard", "Docs"]),
    ):
        for position, name in enumerate(names):
            made[name] = Component.objects.create(name=name, group=group, position=position)
    ComponentStatusChange.objects.update(at=timezone.now() - timedelta(days=30))
    old = services.open_incident(
        name="Old trouble",
        status="investigating",
        body="Was slow.",
        display_at=timezone.now() - timedelta(days=3),
    )
    services.resolve(old)
    services.open_incident(
        name="Slow webhooks",
        status="identified",
        body="Webhooks are delayed.",
        components={made["Webhooks"].code: S.DEGRADED_PERFORMANCE},
        display_at=timezone.now() - timedelta(minutes=20),
    )
    template = IncidentTemplate.objects.create(
        name="API errors",
        title="Elevated API errors",
        status="investigating",
        body="We are investigating elevated error rates on the API.",
        component_status=S.PARTIAL_OUTAGE,
    )
    template.components.add(made["REST API"], made["GraphQL"])
    group = sync_support_staff_group()  # the flush of transactional tests removed it
    assert group.name == SUPPORT_STAFF
    sam = django_user_model.objects.create_user("sam", "sam@example.com", PASSWORD, is_staff=True)
    sam.groups.add(group)
    return made


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(context, base: str):
    page = context.new_page()
    page.goto(base + "/admin/login/?next=/admin/incidents/incident/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/incidents/incident/**")
    return page


def test_an_operator_opens_updates_and_is_stopped_by_a_stale_tab(
    live_server, console_data, browser
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors = []
    page = log_in(context, live_server.url)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # The list opens on unresolved incidents, every column visible at 1,280 px.
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "Slow webhooks" in rows.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    results = page.locator("#changelist .results")
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth")  # no column cut
    shoot(page, "console-list-1280")

    # Open an incident: type a name, then pick a template: filled in place, name kept.
    page.click(".object-tools a.addlink")
    page.fill("#id_name", "Checkout failing")
    url = page.url
    page.click(".templates a[data-template]")
    assert page.url == url  # no reload
    assert page.input_value("#id_name") == "Checkout failing"  # what was typed stays
    assert "elevated error rates" in page.input_value("textarea[name=update_body]")
    rest, graphql = console_data["REST API"], console_data["GraphQL"]
    assert page.input_value(f"select[name=component_{rest.code}]") == S.PARTIAL_OUTAGE
    # The Web group, all at once.
    web_set_all = page.locator("tbody[data-group] select.set-all").nth(1)
    web_set_all.select_option(S.DEGRADED_PERFORMANCE)
    for name in ("Website", "Dashboard", "Docs"):
        code = console_data[name].code
        assert page.input_value(f"select[name=component_{code}]") == S.DEGRADED_PERFORMANCE
    # The filter box narrows the list; clearing it shows everything again.
    page.fill("#component-filter", "graph")
    assert page.locator("tr.component-row:visible").count() == 1
    page.fill("#component-filter", "")
    assert page.locator("tr.component-row:visible").count() == 6
    assert page.locator("#incident_form input[type=submit]").count() == 1
    shoot(page, "console-open-1280")
    page.click("#incident_form input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    incident = Incident.objects.get(name="Checkout failing")
    assert {c.name for c in incident.components.all()} == {
        "REST API",
        "GraphQL",
        "Website",
        "Dashboard",
        "Docs",
    }
    assert Component.objects.get(pk=graphql.pk).status == S.PARTIAL_OUTAGE

    # A second tab on the same incident, opened now; the first tab posts an update.
    other = context.new_page()
    other.goto(page.url)
    page.check("input[name=update_status][value=identified]")
    page.fill("textarea[name=update_body]", "A bad deploy; rolling back.")
    # The affected components, grouped as on the public page, each group with its own
    # "set all" (the API group holds REST API and GraphQL), and one for all of them.
    affected = page.locator("table.affected-components")
    assert affected.locator("tr.group-row th").all_inner_texts() == ["API", "Web"]
    affected.locator("select.set-all[data-scope=table]").select_option(S.MAJOR_OUTAGE)
    page.click("#incident_form input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert Component.objects.get(pk=rest.pk).status == S.MAJOR_OUTAGE
    # The stale tab is stopped, keeps its text, and shows the other update.
    other.check("input[name=update_status][value=monitoring]")
    other.fill("textarea[name=update_body]", "Fixed, watching.")
    other.click("#incident_form input[type=submit]")
    other.wait_for_selector(".errornote")
    assert "Someone posted an update since you opened this page" in other.content()
    assert other.input_value("textarea[name=update_body]") == "Fixed, watching."
    assert "A bad deploy; rolling back." in other.locator("#timeline").inner_text()
    assert incident.updates.count() == 2
    shoot(other, "console-stale-1280")
    assert errors == []

    # On a phone: the form in one column, no drop-down clipped.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    mobile = log_in(phone, live_server.url)
    mobile.goto(other.url)
    boxes = mobile.locator("#post-update select, #post-update textarea").evaluate_all(
        "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().right)"
    )
    assert boxes and max(boxes) <= 390
    shoot(mobile, "console-post-390")
    mobile.goto(live_server.url + "/admin/incidents/incident/add/")
    shoot(mobile, "console-open-390")
