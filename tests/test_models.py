"""Component history and public codes."""

import re

import pytest

from components.models import Component, ComponentStatusChange
from statusportal.models import Revision

pytestmark = pytest.mark.django_db
S = Component.Status


def test_every_status_change_writes_a_history_row_by_any_path(rest):
    rest.status = S.PARTIAL_OUTAGE
    rest.save()
    fetched = Component.objects.get(pk=rest.pk)
    fetched.status = S.OPERATIONAL
    fetched.save(update_fields=["status"])
    fetched.name = "Renamed"
    fetched.save()  # no status change, no row
    rows = list(rest.status_changes.order_by("pk").values_list("old_status", "new_status"))
    assert rows == [
        (None, "operational"),
        ("operational", "partial_outage"),
        ("partial_outage", "operational"),
    ]


def test_set_status_returns_the_history_row_it_wrote_or_none(rest):
    change = rest.set_status(S.MAJOR_OUTAGE)
    assert (change.component, change.old_status, change.new_status) == (
        rest,
        S.OPERATIONAL,
        S.MAJOR_OUTAGE,
    )
    assert rest.set_status(S.MAJOR_OUTAGE) is None
    assert ComponentStatusChange.objects.filter(component=rest).count() == 2
    assert Component.objects.get(pk=rest.pk).status == S.MAJOR_OUTAGE


def test_worst_status_ranks_outages_above_maintenance():
    assert S.worst([S.UNDER_MAINTENANCE, S.DEGRADED_PERFORMANCE]) == S.DEGRADED_PERFORMANCE
    assert S.worst([S.OPERATIONAL, S.UNDER_MAINTENANCE]) == S.UNDER_MAINTENANCE
    assert S.worst([]) == S.OPERATIONAL


def test_codes_are_12_random_lowercase_letters_and_digits(rest, graphql):
    assert re.fullmatch(r"[a-z0-9]{12}", rest.code)
    assert rest.code != graphql.code


def test_public_writes_bump_the_revision(rest):
    before = Revision.current().number
    rest.set_status(S.MAJOR_OUTAGE)
    assert Revision.current().number > before
