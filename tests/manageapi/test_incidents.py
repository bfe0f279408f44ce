"""Incidents, maintenance, updates, postmortems and templates through the manage API:
each goes through ``incidents.services``, and a refusal writes nothing."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from components.models import ChangeSource, ComponentStatusChange
from incidents import services
from incidents.models import Incident, IncidentTemplate, IncidentUpdate, Postmortem
from statusportal.mail import use_mail_server
from subscriptions.models import NotificationEvent
from tests.manageapi.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    use_mail_server(settings, {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})


def test_opening_an_incident_with_component_statuses(manage, rest, graphql):
    response = manage.send(
        "POST",
        url("/incidents"),
        {
            "incident": {
                "name": "API errors",
                "status": "identified",
                "body": "We found the cause.",
                "components": {rest.code: "major_outage"},
                "component_ids": [graphql.code],
                "impact_override": "minor",
                "deliver_notifications": False,
                "metadata": {"alertmanager": {"fingerprint": "abc"}},
            }
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    incident = Incident.objects.get(code=body["id"])
    assert (body["status"], body["impact"], body["impact_override"]) == (
        "identified",
        "minor",
        "minor",
    )
    assert [c["id"] for c in body["components"]] == [rest.code, graphql.code]
    assert body["incident_updates"][0]["body"] == "We found the cause."
    assert body["incident_updates"][0]["affected_components"][0]["new_status"] == "major_outage"
    change = ComponentStatusChange.objects.filter(component=rest).first()
    assert change.cause.incident_update.incident == incident
    assert change.source == ChangeSource.API
    assert not NotificationEvent.objects.exists()


def test_opening_without_a_body_posts_a_default_message(manage):
    response = manage.send("POST", url("/incidents"), {"incident": {"name": "Slow pages"}})
    assert response.status_code == 201, response.json()
    incident = Incident.objects.get(code=response.json()["id"])
    assert incident.status == "investigating"
    assert incident.updates.get().body == "Investigating."


def test_scheduling_maintenance(manage, rest):
    start = timezone.now() + timedelta(days=1)
    response = manage.send(
        "POST",
        url("/incidents"),
        {
            "incident": {
                "name": "Database upgrade",
                "status": "scheduled",
                "body": "Planned.",
                "scheduled_for": start.isoformat(),
                "scheduled_until": (start + timedelta(hours=2)).isoformat(),
                "scheduled_remind_prior": True,
                "scheduled_auto_in_progress": True,
                "scheduled_auto_completed": True,
                "component_ids": [rest.code],
            }
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    maintenance = Incident.objects.get(code=body["id"])
    assert maintenance.is_maintenance
    assert (maintenance.auto_start, maintenance.auto_complete) == (True, True)
    assert maintenance.remind_before == timedelta(hours=1)
    assert body["scheduled_remind_prior"] is True
    assert body["impact"] == "maintenance"
    for listing in ("upcoming", "scheduled"):
        assert [i["id"] for i in manage.get(url(f"/incidents/{listing}")).json()] == [body["id"]]
    assert manage.get(url("/incidents/active_maintenance")).json() == []
    assert manage.get(url("/incidents/unresolved")).json() == []


def test_a_backfilled_incident_is_recorded_in_the_past(manage, rest):
    Component = type(rest)
    Component.objects.filter(pk=rest.pk).update(created_at=timezone.now() - timedelta(days=30))
    ComponentStatusChange.objects.filter(component=rest).update(
        at=timezone.now() - timedelta(days=30)
    )
    response = manage.send(
        "POST",
        url("/incidents"),
        {
            "incident": {
                "name": "Outage last week",
                "body": "It happened.",
                "backfilled": True,
                "backfill_date": (timezone.now() - timedelta(days=7)).date().isoformat(),
                "impact_override": "major",
            }
        },
    )
    assert response.status_code == 201, response.json()
    incident = Incident.objects.get(code=response.json()["id"])
    assert incident.status == "resolved"
    assert incident.impact == "major"
    assert incident.started_at < timezone.now() - timedelta(days=6)
    assert incident.updates.get().deliver_notifications is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "status": "on_fire"}, "status"),
        ({"name": "X", "components": {"nope": "major_outage"}}, "components"),
        ({"name": "X", "components": {"REST": "exploded"}}, "components"),
        ({"name": "X", "impact_override": "apocalyptic"}, "impact_override"),
        ({"name": "X", "status": "scheduled"}, "scheduled_for"),
        ({"name": "X", "scheduled_for": "2030-01-01T00:00:00"}, "scheduled_for"),
        ({"name": "X", "backfilled": True, "backfill_date": "yesterday"}, "backfill_date"),
        ({"name": "X", "backfilled": True, "backfill_date": "0001-01-01"}, "backfill_date"),
    ],
)
def test_refused_incidents_write_nothing(manage, rest, fields, field):
    response = manage.send("POST", url("/incidents"), {"incident": fields})
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"], response.json()
    assert not Incident.objects.exists()
    assert ComponentStatusChange.objects.count() == 1  # rest's creation


def test_patching_with_a_status_posts_an_update_and_resolving_restores_components(
    manage, open_incident, rest
):
    incident = open_incident()
    response = manage.send(
        "PATCH",
        url(f"/incidents/{incident.code}.json"),
        {"incident": {"status": "monitoring", "body": "A fix is out."}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "monitoring"
    assert incident.updates.count() == 2
    response = manage.send(
        "PUT", url(f"/incidents/{incident.code}"), {"incident": {"status": "resolved"}}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "resolved"
    assert body["incident_updates"][0]["body"] == services.DEFAULT_RESOLVED_BODY
    rest.refresh_from_db()
    assert rest.status == "operational"
    assert manage.get(url("/incidents/unresolved")).json() == []


def test_patching_only_the_name_posts_no_update(manage, open_incident):
    incident = open_incident()
    response = manage.send(
        "PATCH", url(f"/incidents/{incident.code}"), {"incident": {"name": "New"}}
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.name == "New"
    assert incident.updates.count() == 1


def test_an_incident_has_no_window_and_a_maintenance_moves_its_own(
    manage, open_incident, open_maintenance
):
    incident = open_incident()
    later = (timezone.now() + timedelta(days=2)).isoformat()
    response = manage.send(
        "PATCH", url(f"/incidents/{incident.code}"), {"incident": {"scheduled_for": later}}
    )
    assert response.status_code == 422
    incident.refresh_from_db()
    assert incident.scheduled_for is None
    maintenance = open_maintenance()
    until = (timezone.now() + timedelta(days=2, hours=3)).isoformat()
    response = manage.send(
        "PATCH",
        url(f"/incidents/{maintenance.code}"),
        {"incident": {"scheduled_for": later, "scheduled_until": until}},
    )
    assert response.status_code == 200, response.json()
    maintenance.refresh_from_db()
    assert maintenance.scheduled_for.isoformat()[:16] == later[:16]
    response = manage.send(
        "PATCH",
        url(f"/incidents/{maintenance.code}"),
        {"incident": {"scheduled_until": "2000-01-01T00:00:00Z"}},
    )
    assert response.status_code == 422
    maintenance.refresh_from_db()
    assert maintenance.scheduled_until.isoformat()[:16] == until[:16]


def test_a_refused_update_changes_nothing(manage, open_incident):
    incident = open_incident()
    response = manage.send(
        "PATCH",
        url(f"/incidents/{incident.code}"),
        {"incident": {"name": "Renamed", "status": "in_progress", "body": "x"}},
    )
    assert response.status_code == 422
    incident.refresh_from_db()
    assert (incident.name, incident.updates.count()) == ("API errors", 1)


def test_support_staff_post_updates_but_do_not_delete(support_manage, open_incident):
    incident = open_incident()
    response = support_manage.send(
        "PATCH", url(f"/incidents/{incident.code}"), {"incident": {"body": "Still on it."}}
    )
    assert response.status_code == 200, response.json()
    assert support_manage.delete(url(f"/incidents/{incident.code}")).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_listing_and_searching_incidents(manage, open_incident):
    first = open_incident(name="Database down")
    second = open_incident(name="Slow API", body="The database is slow.")
    listed = manage.get(url("/incidents")).json()
    assert [i["id"] for i in listed] == [second.code, first.code]
    assert [i["id"] for i in manage.get(url("/incidents?q=down")).json()] == [first.code]
    assert {i["id"] for i in manage.get(url("/incidents?q=database")).json()} == {
        first.code,
        second.code,
    }
    assert [i["id"] for i in manage.get(url("/incidents?limit=1&page=2")).json()] == [first.code]
    assert manage.get(url("/incidents?q=%00")).status_code == 400


def test_deleting_an_incident(manage, open_incident):
    incident = open_incident()
    response = manage.delete(url(f"/incidents/{incident.code}"))
    assert response.status_code == 200
    assert response.json()["id"] == incident.code
    assert not Incident.objects.exists()
    assert manage.get(url(f"/incidents/{incident.code}")).status_code == 404


def test_correcting_an_update_changes_text_and_time_without_notifying(manage, open_incident):
    incident = open_incident(display_at=timezone.now() - timedelta(hours=2))
    update = incident.updates.get()
    events = NotificationEvent.objects.count()
    earlier = timezone.now() - timedelta(hours=3)
    response = manage.send(
        "PATCH",
        url(f"/incidents/{incident.code}/incident_updates/{update.code}"),
        {
            "incident_update": {
                "body": "We are looking into errors.",
                "display_at": earlier.isoformat(),
            }
        },
    )
    assert response.status_code == 200, response.json()
    update.refresh_from_db()
    incident.refresh_from_db()
    assert update.body == "We are looking into errors."
    assert update.display_at == earlier
    assert incident.started_at == earlier
    assert NotificationEvent.objects.count() == events


def test_an_update_cannot_be_moved_past_its_neighbour(manage, open_incident):
    incident = open_incident(display_at=timezone.now() - timedelta(hours=2))
    first = incident.updates.get()
    services.post_update(incident, status="monitoring", body="Fixed.")
    response = manage.send(
        "PATCH",
        url(f"/incidents/{incident.code}/incident_updates/{first.code}"),
        {"incident_update": {"display_at": timezone.now().isoformat()}},
    )
    assert response.status_code == 422
    assert "display_at" in response.json()["errors"]
    first.refresh_from_db()
    assert first.display_at < timezone.now() - timedelta(hours=1)


@pytest.mark.parametrize("when", ["2024-01-01T12:99:00Z", "2024-01-01T12:00:00", "soon"])
def test_a_malformed_update_time_is_a_422(manage, open_incident, when):
    incident = open_incident()
    update = incident.updates.get()
    response = manage.send(
        "PATCH",
        url(f"/incidents/{incident.code}/incident_updates/{update.code}"),
        {"incident_update": {"display_at": when}},
    )
    assert response.status_code == 422
    assert "display_at" in response.json()["errors"]


def test_the_postmortem_lifecycle(manage, open_incident, mailoutbox):
    incident = open_incident(status="resolved")
    path = url(f"/incidents/{incident.code}/postmortem")
    assert manage.get(path).status_code == 404
    response = manage.send("PUT", path, {"postmortem": {"body_draft": "Root cause: DNS."}})
    assert response.status_code == 200, response.json()
    assert response.json()["body_draft"] == "Root cause: DNS."
    assert "published_at" not in response.json()
    response = manage.send("PUT", path + "/publish", {"postmortem": {"notify_subscribers": False}})
    assert response.status_code == 200, response.json()
    assert response.json()["body"] == "Root cause: DNS."
    assert manage.get(url(f"/incidents/{incident.code}")).json()["postmortem_body"]
    assert manage.send("PUT", path + "/publish", {"postmortem": {}}).status_code == 409
    response = manage.send("PUT", path + "/revert")
    assert response.status_code == 200
    assert Postmortem.objects.get().published_at is None
    assert manage.send("PUT", path + "/revert").status_code == 409
    assert manage.delete(path).status_code == 204
    assert not Postmortem.objects.exists()
    assert manage.delete(path).status_code == 404


def test_publishing_the_postmortem_of_an_open_incident_is_a_conflict(manage, open_incident):
    incident = open_incident()
    services.save_postmortem_draft(incident, body="Draft.")
    response = manage.send("PUT", url(f"/incidents/{incident.code}/postmortem/publish"))
    assert response.status_code == 409
    assert Postmortem.objects.get().published_at is None


def test_templates_are_listed_and_created(manage, rest):
    response = manage.send(
        "POST",
        url("/incident_templates"),
        {
            "template": {
                "name": "DB down",
                "title": "Database unavailable",
                "body": "We are investigating.",
                "update_status": "identified",
                "component_ids": [rest.code],
            }
        },
    )
    assert response.status_code == 201, response.json()
    template = IncidentTemplate.objects.get(code=response.json()["id"])
    assert (template.title, template.status) == ("Database unavailable", "identified")
    assert list(template.components.all()) == [rest]
    listed = manage.get(url("/incident_templates.json")).json()
    assert [t["id"] for t in listed] == [template.code]
    assert listed[0]["components"][0]["id"] == rest.code
    duplicate = manage.send(
        "POST",
        url("/incident_templates"),
        {"template": {"name": "DB down", "title": "", "body": "x"}},
    )
    assert duplicate.status_code == 422
    assert IncidentTemplate.objects.count() == 1


def test_updates_of_unknown_incidents_are_404(manage, open_incident):
    incident = open_incident()
    assert (
        manage.send("PATCH", url("/incidents/nope"), {"incident": {"body": "x"}}).status_code == 404
    )
    other = IncidentUpdate.objects.get()
    assert (
        manage.send(
            "PATCH",
            url(f"/incidents/{incident.code}/incident_updates/nope"),
            {"incident_update": {"body": "x"}},
        ).status_code
        == 404
    )
    other.refresh_from_db()
    assert other.body == "We are looking into it."


def _queries_of(manage, path):
    with CaptureQueriesContext(connection) as queries:
        assert manage.get(path).status_code == 200
    return len(queries)


def test_lists_cost_a_fixed_number_of_queries(manage, open_incident, rest):
    open_incident()
    manage.get(url())  # the key's last use is written once a minute: not in the count
    few = [_queries_of(manage, url(p)) for p in ("/incidents", "/components", "/component-groups")]
    for n in range(4):
        incident = open_incident(name=f"Incident {n}")
        services.post_update(incident, status="resolved", body="Over.")
    many = [_queries_of(manage, url(p)) for p in ("/incidents", "/components", "/component-groups")]
    assert many == few
