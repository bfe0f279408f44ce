"""A Content-Security-Policy on every page, and nothing on our pages breaks it: each page
is loaded in headless Chromium, which reports every violation (console and
``securitypolicyviolation`` events)."""

import pytest
from django.contrib.auth import get_user_model

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


def assert_clean(page, url: str, expect: str) -> None:
    headers, violations = visit(page, url)
    policy = headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy, url
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, url
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
