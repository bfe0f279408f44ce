"""Per-day uptime from ComponentStatusChange rows, in the page time zone."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from components.models import Component, ComponentStatusChange
from components.uptime import daily_uptime, format_percent, mean_percent

S = Component.Status
NOW = datetime(2021, 9, 20, 12, 0, tzinfo=UTC)


def utc(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2021, 9, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def component(db):
    # Counted from Sep 1; its creation row is moved back so only our rows matter.
    c = Component.objects.create(name="API", start_date=date(2021, 9, 1))
    ComponentStatusChange.objects.filter(component=c).update(at=utc(1))
    return c


def change(component, status, at):
    ComponentStatusChange.objects.create(component=component, new_status=status, at=at)


def days_of(component, first, last, zone=UTC, now=NOW):
    return daily_uptime([component], first, last, now=now, zone=zone)[component.pk]


def test_major_outage_counts_fully_and_partial_outage_at_thirty_percent(component):
    change(component, S.MAJOR_OUTAGE, utc(10, 1))
    change(component, S.PARTIAL_OUTAGE, utc(10, 2))
    change(component, S.OPERATIONAL, utc(10, 4))
    (day,) = days_of(component, date(2021, 9, 10), date(2021, 9, 10)).days
    assert day.percent == pytest.approx(100 * (1 - (3600 + 0.3 * 7200) / 86400))
    assert day.worst_status == S.MAJOR_OUTAGE
    assert [(s, secs) for s, secs in day.outages] == [
        (S.MAJOR_OUTAGE, 3600),
        (S.PARTIAL_OUTAGE, 7200),
    ]


def test_degraded_performance_and_maintenance_count_as_up(component):
    change(component, S.DEGRADED_PERFORMANCE, utc(10, 1))
    change(component, S.UNDER_MAINTENANCE, utc(10, 5))
    change(component, S.OPERATIONAL, utc(10, 9))
    (day,) = days_of(component, date(2021, 9, 10), date(2021, 9, 10)).days
    assert day.percent == 100.0
    assert day.worst_status == S.DEGRADED_PERFORMANCE


def test_days_are_cut_at_midnight_in_the_page_time_zone(component):
    # 02:00-04:00 UTC is 23:00-01:00 in São Paulo (UTC-3): one hour on each local day.
    change(component, S.MAJOR_OUTAGE, utc(10, 2))
    change(component, S.OPERATIONAL, utc(10, 4))
    zone = ZoneInfo("America/Sao_Paulo")
    days = days_of(component, date(2021, 9, 9), date(2021, 9, 10), zone=zone).days
    expected = 100 * (1 - 3600 / 86400)
    assert [d.day for d in days] == [date(2021, 9, 9), date(2021, 9, 10)]
    assert [d.percent for d in days] == [pytest.approx(expected), pytest.approx(expected)]
    # In UTC the same outage falls on one day only.
    utc_days = days_of(component, date(2021, 9, 9), date(2021, 9, 10)).days
    assert utc_days[0].percent == 100.0
    assert utc_days[1].percent == pytest.approx(100 * (1 - 7200 / 86400))


def test_an_outage_that_began_before_the_window_carries_into_it(component):
    change(component, S.MAJOR_OUTAGE, utc(5, 12))
    change(component, S.OPERATIONAL, utc(10, 12))
    days = days_of(component, date(2021, 9, 9), date(2021, 9, 11)).days
    assert [d.percent for d in days] == [0.0, pytest.approx(50.0), 100.0]


def test_days_before_start_date_have_no_data_and_do_not_count(component):
    component.start_date = date(2021, 9, 10)
    component.save()
    change(component, S.MAJOR_OUTAGE, utc(9, 0))  # before the start: ignored
    change(component, S.OPERATIONAL, utc(10, 6))
    uptime = days_of(component, date(2021, 9, 8), date(2021, 9, 11))
    assert [d.has_data for d in uptime.days] == [False, False, True, True]
    assert uptime.days[0].percent is None
    # Window = Sep 10 and 11 only: 6 h of major outage over 48 h.
    assert uptime.percent == pytest.approx(100 * (1 - 6 / 48))


def test_without_start_date_uptime_counts_from_the_first_record(db):
    c = Component.objects.create(name="New")
    ComponentStatusChange.objects.filter(component=c).update(at=utc(10, 12))
    days = days_of(c, date(2021, 9, 9), date(2021, 9, 11)).days
    assert [d.has_data for d in days] == [False, True, True]
    assert days[1].covered_seconds == 12 * 3600


def test_today_counts_only_until_now(component):
    change(component, S.MAJOR_OUTAGE, utc(20, 6))
    (today,) = days_of(component, date(2021, 9, 20), date(2021, 9, 20)).days
    assert today.covered_seconds == 12 * 3600
    assert today.percent == pytest.approx(50.0)
    (future,) = days_of(component, date(2021, 9, 21), date(2021, 9, 21)).days
    assert not future.has_data


def test_query_count_does_not_grow_with_components_or_history(db, django_assert_num_queries):
    def make(n_components, n_changes):
        comps = [
            Component.objects.create(name=f"C{i}", start_date=date(2021, 6, 1))
            for i in range(n_components)
        ]
        rows = [
            ComponentStatusChange(
                component=c,
                new_status=S.MAJOR_OUTAGE if k % 2 else S.OPERATIONAL,
                at=NOW - timedelta(hours=k * 7 + 1),
            )
            for c in comps
            for k in range(n_changes)
        ]
        ComponentStatusChange.objects.bulk_create(rows)
        return comps

    small, large = make(1, 2), make(12, 400)
    for comps in (small, large):
        with django_assert_num_queries(2):
            result = daily_uptime(comps, date(2021, 6, 23), date(2021, 9, 20), now=NOW, zone=UTC)
        assert all(len(u.days) == 90 for u in result.values())
    assert any(d.worst_status == S.MAJOR_OUTAGE for u in result.values() for d in u.days)


def test_percent_is_rounded_down_so_downtime_never_shows_as_100():
    assert format_percent(99.9999) == "99.99%"
    assert format_percent(100.0) == "100%"
    assert format_percent(None) == "No data"


def test_group_uptime_is_the_mean_of_its_components(component, db):
    other = Component.objects.create(name="Other", start_date=date(2021, 9, 1))
    ComponentStatusChange.objects.filter(component=other).update(at=utc(1))
    change(component, S.MAJOR_OUTAGE, utc(10, 0))
    change(component, S.OPERATIONAL, utc(10, 12))
    result = daily_uptime(
        [component, other], date(2021, 9, 10), date(2021, 9, 10), now=NOW, zone=UTC
    )
    assert mean_percent(result.values()) == pytest.approx((50.0 + 100.0) / 2)


def test_a_day_summary_agrees_with_the_day_properties(component):
    # The status page reads summary() (one pass); the calendar and tests read properties.
    change(component, S.DEGRADED_PERFORMANCE, utc(10, 1))
    change(component, S.MAJOR_OUTAGE, utc(10, 2))
    change(component, S.PARTIAL_OUTAGE, utc(10, 3))
    change(component, S.UNDER_MAINTENANCE, utc(11, 5))
    change(component, S.OPERATIONAL, utc(11, 6))
    uptime = days_of(component, date(2021, 8, 30), date(2021, 9, 12))
    for day in uptime.days:
        summary = day.summary()
        assert summary.percent == day.percent
        assert summary.worst_status == day.worst_status
        assert summary.outages == day.outages
    assert uptime.days[0].summary() == (None, None, [])  # before the start date
    # Sep 9 to 12: quiet, the outage day, partial outage then maintenance, quiet again.
    assert [d.summary().worst_status for d in uptime.days[-4:]] == [
        S.OPERATIONAL,
        S.MAJOR_OUTAGE,
        S.PARTIAL_OUTAGE,
        S.OPERATIONAL,
    ]
