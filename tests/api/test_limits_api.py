"""The API answers values outside statusportal.limits with a 400 naming the field."""

from datetime import timedelta

from django.utils import timezone

from incidents.models import Incident


def test_the_api_answers_a_huge_reminder_with_a_400_naming_it(support_api, rest):
    start = timezone.now() + timedelta(days=1)
    response = support_api.post(
        "/api/v1/maintenances/",
        {
            "name": "Upgrade",
            "body": "We will upgrade.",
            "components": [rest.code],
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=2)).isoformat(),
            "remind_before": "999999999 00:00:00",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "remind_before" in response.json()
    assert not Incident.objects.exists()


GO_ZERO = "0001-01-01T00:00:00Z"  # what a buggy Go script sends for "no time"


def test_an_incident_dated_in_year_one_is_a_400_naming_display_at(support_api, rest):
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "Errors", "body": "Looking.", "display_at": GO_ZERO},
        format="json",
    )
    assert response.status_code == 400
    assert "display_at" in response.json()
    assert not Incident.objects.exists()


def test_an_update_dated_in_year_one_is_a_400_naming_display_at(support_api, open_incident):
    incident = open_incident()
    response = support_api.post(
        f"/api/v1/incidents/{incident.code}/updates/",
        {"status": "identified", "body": "Found it.", "display_at": GO_ZERO},
        format="json",
    )
    assert response.status_code == 400
    assert "display_at" in response.json()
    assert incident.updates.count() == 1


def test_the_api_answers_such_a_time_with_a_400(support_api, rest):
    response = support_api.post(
        "/api/v1/incidents/",
        {"name": "Errors", "body": "Looking.", "display_at": "0001-01-01T00:00:00+00:01"},
        format="json",
    )
    assert response.status_code == 400
    assert "display_at" in response.json()
