"""A Content-Security-Policy on every page, and nothing on our pages breaks it: each page
is loaded in headless Chromium, which reports every violation (console and
``securitypolicyviolation`` events)."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from incidents import services
from subscriptions import links
from subscriptions import services as services_subscriptions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
# Collected in the page before any of its own scripts run.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def incident(open_incident):
    return open_incident(name="Elevated errors", body="We are looking into **it**.")


def visit(page, url: str) -> tuple[dict, list[str]]:
    """Load ``url``; its CSP header and every violation the browser reported."""
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("window.__csp") + console
    return response.headers, violations


def assert_clean(page, url: str, expect: str, *, inline_styles: bool = False) -> None:
    """No violation on ``url``, under a policy that allows no inline script anywhere and
    inline styles only where ``inline_styles`` (DRF's browsable API)."""
    headers, violations = visit(page, url)
    policy = headers.get("content-security-policy", "")
    directives = {d.split()[0]: d for d in policy.split("; ") if d}
    assert "default-src 'self'" in policy, url
    assert directives["script-src"].startswith("script-src 'self'"), url
    assert "unsafe-inline" not in directives["script-src"], url
    assert ("unsafe-inline" in directives["style-src"]) == inline_styles, url
    assert violations == [], f"{url}: {violations}"
    assert expect in page.content(), url


def test_public_pages_api_docs_and_admin_load_without_csp_violations(
    live_server, browser, incident
):
    get_user_model().objects.create_superuser("ada", "ada@example.com", PASSWORD)
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    base = live_server.url
    assert_clean(page, f"{base}/", "Elevated errors")
    assert_clean(page, f"{base}/incidents/{incident.code}/", "<strong>it</strong>")
    assert_clean(page, f"{base}/subscribe/", "<form")
    assert_clean(page, f"{base}/api/v1/docs/", "swagger-ui")
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI ran and drew the schema

    assert_clean(page, f"{base}/admin/login/", "id_username")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    for path in ["/admin/", "/admin/components/component/", "/admin/components/component/add/"]:
        assert_clean(page, f"{base}{path}", "</html>")
    context.close()


def test_every_other_kind_of_page_loads_without_csp_violations(
    live_server, browser, incident, settings
):
    """The pages the first test does not visit: history, uptime, the subscriber's pages,
    the browsable API, the console's own pages, and the two-factor pages."""
    settings.STATUSPAGE_URL = live_server.url
    subscriber = services_subscriptions.add_subscriber("reader@example.com", confirmed=True)
    pending = services_subscriptions.add_subscriber("new@example.com")
    services.resolve(incident)
    services.save_postmortem_draft(incident, body="## Cause\nA bad deploy.")
    get_user_model().objects.create_superuser("ada", "ada@example.com", PASSWORD)
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    base = live_server.url
    for path, expect in [
        ("/history/", "Elevated errors"),
        ("/uptime/", "uptime"),
        (urlsplit(links.manage_url(subscriber.token)).path, "<form"),
        (urlsplit(links.unsubscribe_url(subscriber.token)).path, "</html>"),
        (urlsplit(links.confirm_url(pending)).path, "</html>"),
        ("/no-such-page/", "Page not found"),
    ]:
        assert_clean(page, f"{base}{path}", expect)
    assert_clean(page, f"{base}/api/v1/incidents/", "Elevated errors", inline_styles=True)

    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    update = incident.updates.order_by("display_at").first()
    for path in [
        "/admin/incidents/incident/",
        "/admin/incidents/incident/add/",
        f"/admin/incidents/incident/{incident.pk}/post/",
        f"/admin/incidents/incident/{incident.pk}/postmortem/",
        f"/admin/incidents/incident/{incident.pk}/change/",
        f"/admin/incidents/incident/{incident.pk}/updates/{update.pk}/correct/",
        "/admin/incidents/maintenance/add/",
        "/admin/subscriptions/subscriber/",
        "/admin/subscriptions/delivery/",
        "/admin/monitoring/integration/",
        "/admin/components/componentstatuschange/",
    ]:
        assert_clean(page, f"{base}{path}", "</html>")
    context.close()


def test_the_two_factor_pages_load_without_csp_violations(live_server, browser, settings, db):
    settings.ADMIN_REQUIRE_2FA = True
    get_user_model().objects.create_superuser("ada", "ada@example.com", PASSWORD)
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    # Without a device, staff reach only the enrolment page.
    assert_clean(page, page.url, "</html>")
    assert "/admin/" in page.url and page.url != f"{base}/admin/"
    context.close()
