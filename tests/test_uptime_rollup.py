"""The daily uptime roll-up gives exactly what replaying the history gives (see
docs/architecture.md, 'Uptime from daily roll-ups').

``replayed_uptime`` is the computation the roll-up replaced, kept here only as the
reference: it reads every status change of the window and spreads it over the days. A
hypothesis property writes random histories in every way the code writes them (in order,
back-dated, in bulk, moved with a queryset update), in zones with daylight-saving changes
(including one that moves its clocks at midnight), with and without a start date, and
compares both computations for random windows and a random "now" (today's partial day,
and a now before the latest changes).
"""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from components.models import Component, ComponentStatusChange, UptimeDay
from components.uptime import (
    STATUS_OF,
    ComponentUptime,
    DayUptime,
    _spread,
    as_timestamp,
    daily_uptime,
    day_start,
    rebuild_rollups,
    stale_rollups,
    timestamp_of,
)

S = Component.Status
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe"]
# A year whose daylight-saving changes the histories cross, in every zone above.
ORIGIN = datetime(2022, 2, 20, tzinfo=UTC)
SPAN_SECONDS = 330 * 86400


def replayed_uptime(components, first_day, last_day, *, now, zone):
    """The uptime of each day, replayed from the raw history (the reference)."""
    n_days = (last_day - first_day).days + 1
    day_starts = [day_start(first_day + timedelta(days=i), zone) for i in range(n_days + 1)]
    bounds = [d.timestamp() for d in day_starts]
    window_start_at = day_starts[0]
    window_end_at = min(day_starts[-1], now)
    window_start, window_end = bounds[0], window_end_at.timestamp()
    dates = [first_day + timedelta(days=i) for i in range(n_days)]
    result = {c.pk: ComponentUptime(c, [DayUptime(d) for d in dates]) for c in components}
    if not result or window_end <= window_start:
        return result
    changes = ComponentStatusChange.objects.filter
    in_window = defaultdict(list)
    rows = (
        changes(component_id__in=result, at__gte=window_start_at, at__lt=window_end_at)
        .order_by("component_id", "at", "pk")
        .annotate(ts=timestamp_of("at"))
        .values_list("component_id", "ts", "new_status")
    )
    for component_id, ts, status in rows:
        in_window[component_id].append((as_timestamp(ts), STATUS_OF.get(status, status)))
    for pk, uptime in result.items():
        component = uptime.component
        history = changes(component_id=pk)
        before = (
            history.filter(at__lt=window_start_at)
            .order_by("-at", "-pk")
            .values_list("new_status", flat=True)
            .first()
        )
        first_change_at = history.order_by("at", "pk").values_list("at", flat=True).first()
        if component.start_date:
            coverage_start = day_start(component.start_date, zone).timestamp()
        else:
            coverage_start = (first_change_at or component.created_at).timestamp()
        status = STATUS_OF.get(before, S.OPERATIONAL) if before else S.OPERATIONAL
        cursor = window_start
        for at, new_status in in_window.get(pk, ()):
            _spread(uptime.days, bounds, max(cursor, coverage_start), at, status)
            cursor, status = at, new_status
        _spread(uptime.days, bounds, max(cursor, coverage_start), window_end, status)
    return result


def assert_same(rolled, replayed):
    assert rolled.keys() == replayed.keys()
    for pk, expected in replayed.items():
        got = rolled[pk]
        assert [d.day for d in got.days] == [d.day for d in expected.days]
        for new, old in zip(got.days, expected.days, strict=True):
            where = f"component {pk}, {old.day}"
            assert new.covered_seconds == pytest.approx(old.covered_seconds, abs=1e-6), where
            assert new.seconds_by_status.keys() == old.seconds_by_status.keys(), where
            for status, seconds in old.seconds_by_status.items():
                assert new.seconds_by_status[status] == pytest.approx(seconds, abs=1e-6), where
            assert new.worst_status == old.worst_status, where
            assert [s for s, _ in new.outages] == [s for s, _ in old.outages], where
            if old.percent is None:
                assert new.percent is None, where
            else:
                assert new.percent == pytest.approx(old.percent, abs=1e-9), where
        if expected.percent is None:
            assert got.percent is None
        else:
            assert got.percent == pytest.approx(expected.percent, abs=1e-9)


def at(offset: float) -> datetime:
    return ORIGIN + timedelta(seconds=offset)


# Offsets in whole seconds or with microseconds; some on the local midnights and
# daylight-saving changes, where the days are cut.
offsets = st.one_of(
    st.integers(0, SPAN_SECONDS),
    st.floats(0, SPAN_SECONDS, allow_nan=False).map(lambda x: round(x, 6)),
    st.integers(0, 329).map(lambda d: d * 86400 - 3600),
    st.integers(0, 329).map(lambda d: d * 86400 + 5 * 3600),
)
statuses = st.sampled_from(list(S))
# How each change is written: in order through the model, back-dated (written last), in
# a bulk_create, or written early and moved to its time with a queryset update.
writes = st.sampled_from(["in_order", "back_dated", "bulk", "moved"])
history = st.lists(st.tuples(offsets, statuses, writes), max_size=14)


def write_history(component, changes):
    ComponentStatusChange.objects.filter(component=component).delete()
    ordered = [c for c in changes if c[2] == "in_order"]
    for offset, status, _ in sorted(ordered, key=lambda c: c[0]):
        ComponentStatusChange.objects.create(component=component, new_status=status, at=at(offset))
    bulk = [
        ComponentStatusChange(component=component, new_status=status, at=at(offset))
        for offset, status, how in changes
        if how == "bulk"
    ]
    ComponentStatusChange.objects.bulk_create(bulk)
    for offset, status, how in changes:
        if how == "back_dated":
            ComponentStatusChange.objects.create(
                component=component, new_status=status, at=at(offset)
            )
        elif how == "moved":
            row = ComponentStatusChange.objects.create(
                component=component, new_status=status, at=at(SPAN_SECONDS + 86400)
            )
            ComponentStatusChange.objects.filter(pk=row.pk).update(at=at(offset))


# Each example writes a few histories and reads them four ways: fewer than the profile's.
@hypothesis_settings(max_examples=40)
@given(
    zone_name=st.sampled_from(ZONES),
    histories=st.lists(
        st.tuples(history, st.one_of(st.none(), st.integers(-5, 340))), min_size=1, max_size=3
    ),
    now_offset=st.integers(0, SPAN_SECONDS + 3 * 86400),
    window=st.tuples(st.integers(-5, 330), st.integers(1, 120)),
)
def test_rolled_up_uptime_equals_the_replayed_history(
    db, settings, zone_name, histories, now_offset, window
):
    settings.STATUSPAGE_TIME_ZONE = zone_name
    zone = ZoneInfo(zone_name)
    Component.objects.all().delete()
    components = []
    for changes, start_offset in histories:
        start = None if start_offset is None else (ORIGIN + timedelta(days=start_offset)).date()
        component = Component.objects.create(name="C", start_date=start)
        write_history(component, changes)
        components.append(component)
    now = at(now_offset)
    today = now.astimezone(zone).date()
    first = ORIGIN.date() + timedelta(days=window[0])
    windows = [
        (today - timedelta(days=89), today),  # the status page's bars
        (first, first + timedelta(days=window[1] - 1)),
    ]
    for first_day, last_day in windows:
        rolled = daily_uptime(components, first_day, last_day, now=now, zone=zone)
        replayed = replayed_uptime(components, first_day, last_day, now=now, zone=zone)
        assert_same(rolled, replayed)


def test_the_roll_up_has_a_row_only_for_days_with_a_change(db, settings):
    settings.STATUSPAGE_TIME_ZONE = "Europe/Berlin"
    component = Component.objects.create(name="API", start_date=date(2022, 3, 1))
    ComponentStatusChange.objects.filter(component=component).update(at=at(0))
    # 23:30 and 00:30 in Berlin (UTC+1 in March): two days.
    component.set_status(S.MAJOR_OUTAGE, at=datetime(2022, 3, 10, 22, 30, tzinfo=UTC))
    component.set_status(S.OPERATIONAL, at=datetime(2022, 3, 10, 23, 30, tzinfo=UTC))
    rows = list(UptimeDay.objects.filter(component=component).order_by("day"))
    assert [(r.day, r.end_status, r.seconds) for r in rows] == [
        (date(2022, 2, 20), S.OPERATIONAL, {"": 3600.0}),
        (date(2022, 3, 10), S.MAJOR_OUTAGE, {S.OPERATIONAL: 23.5 * 3600}),
        (date(2022, 3, 11), S.OPERATIONAL, {S.MAJOR_OUTAGE: 1800.0}),
    ]
    assert {r.zone for r in rows} == {"Europe/Berlin"}


def test_a_back_dated_change_rewrites_the_days_from_its_date_on(db):
    component = Component.objects.create(name="API", start_date=date(2022, 3, 1))
    ComponentStatusChange.objects.filter(component=component).update(at=at(0))
    component.set_status(S.PARTIAL_OUTAGE, at=datetime(2022, 3, 10, 12, tzinfo=UTC))
    # Backfilled: an outage from the 5th until the 10th, 12:00.
    ComponentStatusChange.objects.create(
        component=component, new_status=S.MAJOR_OUTAGE, at=datetime(2022, 3, 5, tzinfo=UTC)
    )
    now = datetime(2022, 3, 12, tzinfo=UTC)
    days = daily_uptime([component], date(2022, 3, 4), date(2022, 3, 11), now=now)[
        component.pk
    ].days
    assert [d.worst_status for d in days] == [S.OPERATIONAL] + [S.MAJOR_OUTAGE] * 6 + [
        S.PARTIAL_OUTAGE
    ]


def test_the_page_reads_two_queries_and_at_most_a_row_per_day(db, django_assert_num_queries):
    component = Component.objects.create(name="API", start_date=date(2022, 1, 1))
    ComponentStatusChange.objects.bulk_create(
        ComponentStatusChange(
            component=component,
            new_status=S.MAJOR_OUTAGE if k % 2 else S.OPERATIONAL,
            at=at(k * 6000),
        )
        for k in range(2000)
    )
    first = ORIGIN.date() + timedelta(days=20)
    assert UptimeDay.objects.filter(component=component).count() > 130
    with django_assert_num_queries(2):
        uptime = daily_uptime([component], first, first + timedelta(days=89), now=at(SPAN_SECONDS))
    assert len(uptime[component.pk].days) == 90


def test_a_change_of_the_page_time_zone_is_rolled_up_again_by_migrate(db, settings):
    component = Component.objects.create(name="API")
    component.set_status(S.MAJOR_OUTAGE)
    settings.STATUSPAGE_TIME_ZONE = "America/New_York"
    assert list(stale_rollups()) == [component]
    # Until then the pages fold the history themselves.
    assert daily_uptime([component], date(2022, 1, 1), date(2022, 1, 2))[component.pk]
    call_command("migrate", verbosity=0)
    assert list(stale_rollups()) == []
    assert set(UptimeDay.objects.values_list("zone", flat=True)) == {"America/New_York"}


def test_rebuild_uptime_rolls_up_history_written_by_raw_sql(db, settings):
    component = Component.objects.create(name="API", start_date=date(2022, 1, 1))
    UptimeDay.objects.all().delete()  # as after a COPY of the history
    assert list(stale_rollups()) == [component]
    out = StringIO()
    call_command("rebuild_uptime", stdout=out)
    assert "Rolled up the uptime of 1 component" in out.getvalue()
    assert list(stale_rollups()) == []
    assert rebuild_rollups([component], since=date(2022, 1, 1)) == 1
