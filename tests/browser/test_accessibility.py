"""Accessibility by test: the real axe-core engine (npm's ``axe-core``, injected into the
page) finds no violation on the pages readers and operators use during an outage, in light
and in dark mode. Every rule axe runs by default counts, the contrast of every colour
included. Screenshots of the status, incident, uptime and admin incident pages land in
test-artifacts/screenshots/ for a person to check.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.models import Incident
from statusportal.roles import sync_support_staff_group
from subscriptions import services as subscriptions
from tests.services import axe_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
S = Component.Status


@pytest.fixture
def outage(settings, django_user_model):
    """A page during an outage: two groups and a stand-alone component, an incident with a
    major and a partial outage, a resolved minor incident, maintenance under way and
    scheduled, a subscriber to two components, and Sam (Support staff)."""
    settings.STATUSPAGE_NAME = "Acme"
    now = timezone.now()
    api = ComponentGroup.objects.create(name="API", position=0, description="Public APIs")
    rest = Component.objects.create(name="REST API", group=api, position=0)
    graphql = Component.objects.create(name="GraphQL", group=api, position=1)
    website = Component.objects.create(name="Website", position=1, description="www")
    web = ComponentGroup.objects.create(name="Web", position=2)
    dashboard = Component.objects.create(name="Dashboard", group=web, position=0)
    docs = Component.objects.create(name="Docs", group=web, position=1)
    ComponentStatusChange.objects.update(at=now - timedelta(days=120))
    earlier = services.open_incident(
        name="Slow dashboard",
        status="investigating",
        body="Pages are slow.",
        components={dashboard.code: S.DEGRADED_PERFORMANCE},
        display_at=now - timedelta(days=3),
    )
    ComponentStatusChange.objects.filter(cause__incident_update__incident=earlier).update(
        at=now - timedelta(days=3)
    )
    services.resolve(earlier)
    services.open_incident(
        name="Docs migration",
        kind=Incident.Kind.MAINTENANCE,
        status="in_progress",
        body="Moving the docs to a new host.",
        components={docs.code: S.UNDER_MAINTENANCE},
        scheduled_for=now - timedelta(minutes=30),
        scheduled_until=now + timedelta(hours=1),
    )
    incident = services.open_incident(
        name="Elevated API errors",
        status="identified",
        body="Requests to the **REST API** fail; GraphQL is slow.",
        components={rest.code: S.MAJOR_OUTAGE, graphql.code: S.PARTIAL_OUTAGE},
        display_at=now - timedelta(minutes=40),
    )
    services.post_update(incident, status="monitoring", body="A fix is deployed.")
    start = now + timedelta(days=2)
    services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned upgrade.",
        components={website.code: None},
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
    )
    subscriber = subscriptions.add_subscriber(
        "reader@example.com", components=[rest, website], confirmed=True
    )
    sam = django_user_model.objects.create_user("sam", "sam@example.com", PASSWORD, is_staff=True)
    sam.groups.add(sync_support_staff_group())  # the flush of transactional tests removed it
    return {"incident": incident, "subscriber": subscriber}


def axe_violations(page, source: str) -> list[str]:
    """Run axe-core on the loaded page: one entry per violated rule with its impact, what
    is wrong (axe's words, for the first node) and the nodes (CSS selectors)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        nodes = violation["nodes"]
        why = (nodes[0].get("failureSummary") or "").splitlines()[-1].strip()
        targets = [" ".join(node["target"]) for node in nodes]
        shown = "\n      ".join(targets[:8])
        more = f"\n      … and {len(targets) - 8} more" if len(targets) > 8 else ""
        found.append(
            f"{violation['id']} ({violation['impact']}), {len(nodes)} node(s): {why}"
            f"\n      {shown}{more}"
        )
    return found


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_pages_have_no_axe_violations_in_light_and_dark_mode(live_server, outage, browser):
    source = axe_source()
    base = live_server.url
    incident, subscriber = outage["incident"], outage["subscriber"]
    pages = [
        ("status", "/"),
        ("incident", f"/incidents/{incident.code}/"),
        ("history", "/history/"),
        ("uptime", "/uptime/"),
        ("subscribe", "/subscribe/"),
        ("manage", f"/subscriptions/{subscriber.token}/"),
        # The operator's incident: its page (summary, timeline, the post form), its
        # details, and the list with its badges.
        ("admin-incident", f"/admin/incidents/incident/{incident.pk}/post/"),
        ("admin-details", f"/admin/incidents/incident/{incident.pk}/change/"),
        ("admin-list", "/admin/incidents/incident/?state=all"),
    ]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    found = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, path in pages:
            page.goto(base + path)
            # Every group open, as a reader looking for one component would leave them.
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            found += [f"{path} [{scheme}] {line}" for line in axe_violations(page, source)]
            if name in ("status", "history"):
                # Regrouped by the reader's days or months (a browser in Tokyo).
                page.get_by_role("button", name="Show my time zone").click()
                found += [
                    f"{path} [{scheme}, reader's zone] {line}"
                    for line in axe_violations(page, source)
                ]
                page.get_by_role("button", name="Show the page's time zone").click()
            if name in ("status", "incident", "uptime", "admin-incident"):
                shoot(page, f"a11y-{name}-{scheme}")
    context.close()
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)
