"""Page status (docs/architecture.md, "Domain model and its rules"): the banner follows the
worst component status."""

import pytest

from components.models import Component
from incidents.status import page_status, page_status_for

S = Component.Status


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ([S.OPERATIONAL, S.MAJOR_OUTAGE, S.PARTIAL_OUTAGE], "critical", "Major System Outage"),
        ([S.PARTIAL_OUTAGE, S.DEGRADED_PERFORMANCE], "major", "Partial System Outage"),
        ([S.DEGRADED_PERFORMANCE, S.UNDER_MAINTENANCE], "minor", "Minor Service Outage"),
        ([S.UNDER_MAINTENANCE, S.OPERATIONAL], "maintenance", "Service Under Maintenance"),
        ([S.OPERATIONAL], "none", "All Systems Operational"),
    ],
)
def test_indicator_follows_the_worst_component(statuses, indicator, description):
    result = page_status_for(statuses, has_unresolved_incident=False)
    assert (result.indicator, result.description) == (indicator, description)


def test_without_components_an_unresolved_incident_makes_it_at_least_minor():
    assert page_status_for([], has_unresolved_incident=True).indicator == "minor"
    assert page_status_for([], has_unresolved_incident=False).indicator == "none"


@pytest.mark.django_db
def test_page_status_reads_the_database(open_incident, rest, graphql):
    assert page_status().indicator == "none"
    open_incident(components={rest.code: S.PARTIAL_OUTAGE})
    assert page_status().description == "Partial System Outage"
