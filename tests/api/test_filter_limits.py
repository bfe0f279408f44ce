"""The API's time filters answer times out of range with a 400 naming the parameter."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00%2B23:59",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "2024-01-01T00:00:00%2B15:00",
    ],
)
@pytest.mark.parametrize("name", ["started_after", "started_before", "resolved_after"])
def test_a_time_filter_out_of_range_is_a_400_naming_it(name, value):
    response = APIClient().get(f"/api/v1/incidents/?{name}={value}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert name in response.json()


def test_a_sane_time_filter_still_works(open_incident):
    open_incident()
    response = APIClient().get("/api/v1/incidents/?started_after=2001-01-01T00:00:00%2B02:00")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1
