"""Every component status change says where it came from: the operator (with the user),
the API (with the token), the maintenance timetable, or the system."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from components.models import ChangeSource, Component, ComponentStatusChange
from statusportal.api.tokens import create_token
from subscriptions.scheduler import run_maintenance_schedule
from tests.api.conftest import client_with_key

CS = Component.Status


def latest(component) -> ComponentStatusChange:
    return component.status_changes.order_by("-pk").first()


def test_an_operator_changing_a_status_in_the_console_is_named(client, support_user, rest):
    client.force_login(support_user)
    url = reverse("admin:components_component_changelist")
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(rest.pk),
        "form-0-status": CS.MAJOR_OUTAGE,
        "_save": "Save",
    }
    assert client.post(url, data).status_code == 302
    change = latest(rest)
    assert change.new_status == CS.MAJOR_OUTAGE
    assert (change.source, change.actor, change.user) == (
        ChangeSource.OPERATOR,
        "sam",
        support_user,
    )


def test_an_incident_posted_in_the_console_names_its_author(open_incident, support_user, rest):
    open_incident(author=support_user)
    change = latest(rest)
    assert (change.source, change.user) == (ChangeSource.OPERATOR, support_user)


def test_a_status_set_through_the_api_names_the_token(support_user, rest):
    support_user.user_permissions.add(Permission.objects.get(codename="change_component"))
    _, key = create_token(support_user, "deploy bot")
    api = client_with_key(key)
    response = api.patch(
        f"/api/v1/components/{rest.code}/", {"status": CS.PARTIAL_OUTAGE}, format="json"
    )
    assert response.status_code == 200, response.content
    change = latest(rest)
    assert change.source == ChangeSource.API
    assert change.actor == "deploy bot (sam)"
    assert change.user == support_user


def test_an_incident_opened_through_the_api_names_the_token(support_user, rest):
    _, key = create_token(support_user, "alerting")
    api = client_with_key(key)
    response = api.post(
        "/api/v1/incidents/",
        {
            "name": "Errors",
            "status": "investigating",
            "body": "Looking.",
            "components": {rest.code: CS.MAJOR_OUTAGE},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    change = latest(rest)
    assert (change.source, change.actor) == (ChangeSource.API, "alerting (sam)")


def test_the_maintenance_timetable_is_named(open_maintenance, rest):
    starts = timezone.now() + timedelta(minutes=5)
    open_maintenance(scheduled_for=starts, auto_start=True)
    run_maintenance_schedule(now=starts + timedelta(seconds=1))
    change = latest(rest)
    assert change.new_status == CS.UNDER_MAINTENANCE
    assert change.source == ChangeSource.SCHEDULE


@pytest.mark.django_db
def test_a_change_made_by_code_without_an_origin_is_the_systems():
    component = Component.objects.create(name="Search")
    component.set_status(CS.DEGRADED_PERFORMANCE)
    assert latest(component).source == ChangeSource.SYSTEM
    assert latest(component).actor == ""
