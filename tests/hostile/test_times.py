"""Times from the whole range a datetime holds render everywhere; only sane ones enter."""

import importlib
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import Incident, IncidentUpdate
from statusportal import limits, timefmt
from subscriptions.scheduler import run_maintenance_schedule

GO_ZERO = datetime(1, 1, 1, tzinfo=UTC)
FAR_END = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "UTC", "Pacific/Kiritimati"])
@pytest.mark.parametrize("moment", [GO_ZERO, FAR_END])
def test_the_formatter_shows_the_ends_of_the_range_in_every_zone(settings, zone, moment):
    settings.STATUSPAGE_TIME_ZONE = zone
    text = timefmt.format_posted(moment)
    assert str(moment.year).zfill(4) in text
    assert "GMT" in text


def test_json_times_keep_four_digit_years():
    assert timefmt.iso_ms(GO_ZERO) == "0001-01-01T00:00:00.000Z"
    assert timefmt.iso_ms(datetime(2021, 9, 9, 23, 34, 0, 120_999, tzinfo=UTC)) == (
        "2021-09-09T23:34:00.120Z"
    )


def test_localize_moves_ordinary_times_into_the_page_zone(settings):
    settings.STATUSPAGE_TIME_ZONE = "America/Sao_Paulo"
    local = timefmt.localize(datetime(2021, 9, 9, 23, 34, tzinfo=UTC))
    assert (local.hour, timefmt.gmt_offset(local)) == (20, "GMT-03:00")
    assert timefmt.localize(GO_ZERO).utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (GO_ZERO, "too_early"),
        (datetime(1969, 12, 31, 23, 59, tzinfo=UTC), "too_early"),
        (datetime(1, 1, 1, tzinfo=dt_timezone(timedelta(hours=23, minutes=59))), "offset"),
        (datetime(2030, 1, 1, tzinfo=dt_timezone(timedelta(hours=-13))), "offset"),
        (datetime(2024, 1, 1), "naive"),
        (FAR_END, "too_late"),
    ],
)
def test_times_outside_the_sane_range_are_refused_naming_the_field(value, code):
    with pytest.raises(ValidationError) as caught:
        limits.check_time("display_at", value)
    assert list(caught.value.error_dict) == ["display_at"]
    assert caught.value.error_dict["display_at"][0].code == code


def test_sane_times_pass():
    now = timezone.now()
    limits.check_time("display_at", limits.EARLIEST)
    limits.check_time("display_at", now)
    limits.check_time("display_at", now.astimezone(dt_timezone(timedelta(hours=14))))
    limits.check_time("display_at", limits.latest(now) - timedelta(seconds=1), now=now)
    limits.check_time("display_at", None)


@pytest.mark.parametrize(
    "value", [timedelta(days=999_999_999), timedelta(days=31), timedelta(seconds=-1)]
)
def test_durations_are_bounded(value):
    with pytest.raises(ValidationError) as caught:
        limits.check_duration("remind_before", value)
    assert "remind_before" in caught.value.error_dict


def test_durations_within_bounds_pass():
    limits.check_duration("remind_before", timedelta(days=30))
    limits.check_duration("remind_before", timedelta(0))
    limits.check_duration("remind_before", None)


def test_texts_have_a_maximum_length():
    limits.check_length("body", "x" * limits.MAX_UPDATE_BODY_LENGTH, limits.MAX_UPDATE_BODY_LENGTH)
    with pytest.raises(ValidationError) as caught:
        limits.check_length("body", "x" * (limits.MAX_UPDATE_BODY_LENGTH + 1), 20_000)
    assert "body" in caught.value.error_dict


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo"])
def test_a_stored_go_zero_time_does_not_break_the_pages(client, settings, open_incident, zone):
    settings.STATUSPAGE_TIME_ZONE = zone
    incident = open_incident()
    IncidentUpdate.objects.filter(incident=incident).update(display_at=GO_ZERO)
    assert client.get("/").status_code == 200
    assert client.get(f"/incidents/{incident.code}/").status_code == 200
    body = client.get(f"/api/v1/incidents/{incident.code}/").json()
    assert body["updates"][0]["display_at"] == "0001-01-01T00:00:00.000Z"


CLAMP = importlib.import_module("incidents.migrations.0010_clamp_out_of_range_times")


def test_values_stored_before_the_rules_are_brought_into_range(open_incident, open_maintenance):
    incident = open_incident()
    maintenance = open_maintenance(remind_before=timedelta(hours=1))
    IncidentUpdate.objects.filter(incident=incident).update(display_at=GO_ZERO)
    Incident.objects.filter(pk=incident.pk).update(started_at=GO_ZERO, resolved_at=GO_ZERO)
    Incident.objects.filter(pk=maintenance.pk).update(remind_before=timedelta(days=999_999_999))

    CLAMP.clamp(django_apps, None)

    incident.refresh_from_db()
    update = incident.updates.get()
    assert update.display_at == update.created_at
    assert incident.started_at == incident.resolved_at == incident.created_at
    maintenance.refresh_from_db()
    assert maintenance.remind_before == limits.MAX_REMIND_BEFORE
    assert maintenance.scheduled_for > limits.EARLIEST  # what was in range is untouched


def test_a_stored_absurd_reminder_does_not_stop_the_schedule(open_maintenance):
    absurd = open_maintenance(name="Far future", remind_before=timedelta(hours=1))
    Incident.objects.filter(pk=absurd.pk).update(remind_before=timedelta(days=999_999_999))
    due = open_maintenance(name="Due now", auto_start=True)
    Incident.objects.filter(pk=due.pk).update(scheduled_for=timezone.now() - timedelta(minutes=1))

    done = run_maintenance_schedule()

    due.refresh_from_db()
    assert due.status == Incident.Status.IN_PROGRESS
    assert done["started"] == 1


def test_a_stored_go_zero_time_does_not_break_the_incident_list(
    client, settings, open_incident, admin_user
):
    settings.STATUSPAGE_TIME_ZONE = "America/Los_Angeles"
    incident = open_incident()
    Incident.objects.filter(pk=incident.pk).update(started_at=GO_ZERO)
    client.force_login(admin_user)
    response = client.get("/admin/incidents/incident/?state=all")
    assert response.status_code == 200
    assert incident.name in response.content.decode()


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=dt_timezone(timedelta(minutes=1))),  # before year 1 in UTC
        datetime(9999, 12, 31, 23, 59, tzinfo=dt_timezone(timedelta(hours=-12))),  # after 9999
    ],
)
def test_a_time_whose_utc_is_outside_every_date_is_refused_not_a_crash(moment):
    # Found by the renders-everywhere property: the conversion to UTC overflowed (a 500).
    with pytest.raises(ValidationError) as caught:
        limits.check_time("display_at", moment)
    assert "display_at" in caught.value.error_dict
