"""``/api/v1/components/{code}/history/``: every change and where it came from; who acted
only for token holders who may see the history."""

from components.models import Component
from tests.monitoring.conftest import ALERTMANAGER_URL, alert, webhook

CS = Component.Status


def test_the_history_says_where_each_change_came_from(anon, alertmanager, rest):
    alertmanager.post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    response = anon.get(f"/api/v1/components/{rest.code}/history/")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["old_status"], r["new_status"], r["source"]) for r in results] == [
        ("operational", "major_outage", "alertmanager"),
        (None, "operational", "system"),
    ]
    assert results[0]["at"].endswith("Z")
    # Who acted is not the public's business (operators' user names are addresses).
    assert results[0]["actor"] is None and results[0]["detail"] is None


def test_support_staff_see_who_acted(support_api, alertmanager, rest):
    alertmanager.post(ALERTMANAGER_URL, webhook(alert(rest)), format="json")
    latest = support_api.get(f"/api/v1/components/{rest.code}/history/").json()["results"][0]
    assert latest["actor"] == "prod-am"
    assert latest["detail"]["alerts"][0]["fingerprint"] == "f1"


def test_an_unknown_component_has_no_history(anon, db):
    assert anon.get("/api/v1/components/nosuchcode00/history/").status_code == 404
