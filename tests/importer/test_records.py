"""Reading the manage API's records, and the history plan of an imported component:
pure functions, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from importer import records
from importer.services import Change, planned_history

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def hours(n):
    return T0 + timedelta(hours=n)


@pytest.mark.parametrize(
    "value",
    [
        ["a", "b"],  # what Statuspage and its clients send
        '["a", "b"]',  # what the OpenAPI description types: a string holding the array
        "a, b",
        [{"id": "a"}, {"id": "b"}],  # full component objects (an incident's components)
    ],
)
def test_lists_of_ids_are_read_in_every_shape_the_api_gives(value):
    assert records.id_list(value) == ["a", "b"]


def test_a_group_position_may_be_a_string_or_a_number():
    base = {"id": "grp000000001", "name": "API"}
    assert records.read_group({**base, "position": "3"}).position == 3
    assert records.read_group({**base, "position": 3}).position == 3
    with pytest.raises(records.RecordError, match="“position” is not a number"):
        records.read_group({**base, "position": "third"})


def test_a_time_without_a_zone_is_refused_naming_the_object():
    row = {"id": "cmp000000001", "name": "API", "created_at": "2026-01-01T10:00:00"}
    with pytest.raises(records.RecordError, match=r"component cmp000000001 \(“API”\).*zone"):
        records.read_component(row)


def test_an_incident_without_updates_is_refused():
    row = {"id": "inc000000001", "name": "Down", "status": "resolved", "incident_updates": []}
    with pytest.raises(records.RecordError, match="has no incident updates"):
        records.read_incident(row)


def test_ids_that_are_not_our_codes_are_told_apart():
    assert records.fits_code("gytm4qzbx9t6")
    assert not records.fits_code("legacy-dashboard")
    assert not records.fits_code("GYTM4QZBX9T6")


def test_the_fingerprint_follows_what_is_imported():
    row = {"id": "cmp000000001", "name": "API", "status": "operational"}
    first = records.fingerprint(records.read_component(row))
    assert records.fingerprint(records.read_component(dict(row))) == first
    assert records.fingerprint(records.read_component({**row, "name": "REST"})) != first


def test_history_plan_starts_where_the_first_update_found_the_component():
    plan = planned_history(
        hours(0),
        "operational",
        [
            Change(hours(5), "degraded_performance", "major_outage", 1),
            Change(hours(6), "major_outage", "operational", 2),
        ],
        now=hours(100),
    )
    assert plan == [
        Change(hours(0), None, "degraded_performance"),
        Change(hours(5), "degraded_performance", "major_outage", 1),
        Change(hours(6), "major_outage", "operational", 2),
    ]


def test_history_plan_skips_repeats_and_ends_at_the_current_status():
    plan = planned_history(
        hours(0),
        "partial_outage",
        [
            Change(hours(2), "operational", "degraded_performance", 1),
            Change(hours(3), "degraded_performance", "degraded_performance", 2),
            Change(hours(4), "degraded_performance", "operational", 3),
        ],
        now=hours(100),
        updated_at=hours(50),
    )
    assert [(c.at, c.old_status, c.new_status) for c in plan] == [
        (hours(0), None, "operational"),
        (hours(2), "operational", "degraded_performance"),
        (hours(4), "degraded_performance", "operational"),
        (hours(50), "operational", "partial_outage"),
    ]


def test_history_plan_never_goes_past_now_nor_starts_after_its_first_change():
    plan = planned_history(
        hours(10),
        "major_outage",
        [Change(hours(5), "operational", "major_outage", 1)],
        now=hours(8),
        updated_at=hours(20),
    )
    assert plan == [
        Change(hours(5), None, "operational"),
        Change(hours(5), "operational", "major_outage", 1),
    ]


def _incident(*updates, **fields):
    """A manage API incident record with ``updates`` as (status, ISO time)."""
    return {
        "id": "inc000000001",
        "name": "Checkout fails",
        "status": updates[-1][0],
        "incident_updates": [
            {"id": f"upd00000000{i}", "status": status, "body": f"Step {i}.", "display_at": at}
            for i, (status, at) in enumerate(updates)
        ],
        **fields,
    }


def test_an_incident_with_an_update_dated_in_the_future_is_refused():
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    row = _incident(("investigating", "2026-01-01T10:00:00Z"), ("resolved", later))
    with pytest.raises(records.RecordError, match=r"inc000000001.*dated in the future"):
        records.read_incident(row)


def test_an_incident_never_starts_after_its_first_update():
    # The source says it started after its first update: the update service's rule (no
    # update before the start) is kept by starting it at that update.
    row = _incident(
        ("investigating", "2026-01-01T10:00:00Z"),
        ("resolved", "2026-01-01T12:00:00Z"),
        started_at="2026-01-01T11:00:00Z",
    )
    assert records.read_incident(row).started_at == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_an_earlier_start_than_the_first_update_is_kept():
    row = _incident(
        ("identified", "2026-01-01T10:15:00Z"),
        ("resolved", "2026-01-01T12:00:00Z"),
        started_at="2026-01-01T10:00:00Z",
    )
    assert records.read_incident(row).started_at == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_an_incidents_timestamps_follow_its_updates_not_the_sources_fields():
    row = _incident(
        ("investigating", "2026-01-01T10:00:00Z"),
        ("monitoring", "2026-01-01T11:00:00Z"),
        ("monitoring", "2026-01-01T11:30:00Z"),
        ("resolved", "2026-01-01T12:00:00Z"),
        monitoring_at="2025-12-31T09:00:00Z",
        resolved_at="2026-01-03T00:00:00Z",
    )
    incident = records.read_incident(row)
    assert incident.monitoring_at == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert incident.resolved_at == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_an_open_incident_has_no_resolved_time_whatever_the_source_says():
    row = _incident(("investigating", "2026-01-01T10:00:00Z"), resolved_at="2026-01-01T12:00:00Z")
    incident = records.read_incident(row)
    assert incident.resolved_at is None
    assert incident.monitoring_at is None
