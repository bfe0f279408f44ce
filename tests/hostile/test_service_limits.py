"""Whatever enters through the services obeys statusportal.limits, so the admin, the API
and the scheduler share one rule; a refused value changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal import limits

GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def refused(field: str, call, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    assert field in info.value.message_dict, info.value.message_dict
    return info.value


def test_an_update_dated_in_year_one_is_refused_and_nothing_is_written(open_incident):
    incident = open_incident()
    before = IncidentUpdate.objects.count()
    refused(
        "display_at",
        services.post_update,
        incident,
        status="identified",
        body="x",
        display_at=GO_ZERO_TIME,
    )
    assert IncidentUpdate.objects.count() == before


def test_an_incident_opened_in_year_one_is_refused(rest, db):
    refused(
        "display_at",
        services.open_incident,
        name="Zero",
        status="investigating",
        body="x",
        components={},
        display_at=GO_ZERO_TIME,
    )
    assert not Incident.objects.exists()


def test_a_reminder_of_a_billion_days_is_refused(rest, open_maintenance):
    error = refused("remind_before", open_maintenance, remind_before=timedelta(days=999999999))
    assert "at most" in error.message_dict["remind_before"][0]
    assert not Incident.objects.exists()


@pytest.mark.parametrize("field", ["scheduled_for", "scheduled_until"])
def test_a_maintenance_window_out_of_range_is_refused(rest, open_maintenance, field):
    soon = timezone.now() + timedelta(days=1)
    far = timezone.now() + timedelta(days=366 * (limits.MAX_YEARS_AHEAD + 1))
    window = {"scheduled_for": soon, "scheduled_until": soon + timedelta(hours=2)}
    window[field] = far
    refused(field, open_maintenance, **window)
    assert not Incident.objects.exists()


def test_editing_the_window_on_the_details_page_obeys_the_same_rule(open_maintenance):
    maintenance = open_maintenance()
    maintenance.remind_before = timedelta(days=999999999)
    refused("remind_before", services.save_details, maintenance, ["remind_before"])
    maintenance.refresh_from_db()
    assert maintenance.remind_before is None


def test_texts_longer_than_their_documented_maximum_are_refused(open_incident):
    incident = open_incident()
    refused(
        "body",
        services.post_update,
        incident,
        status="identified",
        body="x" * (limits.MAX_UPDATE_BODY_LENGTH + 1),
    )
    refused(
        "name",
        services.open_incident,
        name="n" * (limits.MAX_NAME_LENGTH + 1),
        status="investigating",
        body="x",
        components={},
    )
    services.post_update(incident, status="resolved", body="Fixed.")
    refused(
        "body",
        services.save_postmortem_draft,
        incident,
        body="p" * (limits.MAX_POSTMORTEM_LENGTH + 1),
    )
    assert not Postmortem.objects.exists()


@pytest.mark.parametrize("page", ["post", "postmortem"])
def test_console_pages_with_a_bad_id_are_404s(client, support_user, page):
    client.force_login(support_user)
    url = reverse("admin:incidents_incident_changelist") + f"abc/{page}/"
    assert client.get(url).status_code == 404
