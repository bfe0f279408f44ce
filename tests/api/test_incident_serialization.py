"""The incident read serializer builds its output by hand for speed: byte for byte what
DRF's declared fields make of the demo page's history, through the API too, with the
schema unchanged."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.renderers import JSONRenderer

from incidents.api.serializers import IncidentSerializer
from incidents.api.views import incidents_with_details
from incidents.models import Incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("loaddemo", "--incidents", "60", "--subscribers", "1", stdout=StringIO())
    incidents = list(incidents_with_details())
    # What the demo must hold for the comparison to mean something.
    assert any(i.kind == Incident.Kind.MAINTENANCE and i.remind_before for i in incidents)
    assert any(hasattr(i, "postmortem") and i.postmortem.is_published for i in incidents)
    assert any(hasattr(i, "postmortem") and not i.postmortem.is_published for i in incidents)
    assert any(not i.is_closed for i in incidents)
    assert any(u.affected_components for i in incidents for u in i.updates.all())
    return incidents


def test_the_demo_history_reads_as_drf_wrote_it(demo, client, django_assert_max_num_queries):
    # One test: building the demo page is the slow part.
    serializer = IncidentSerializer()
    renderer = JSONRenderer()
    for incident in demo:
        ours = renderer.render(IncidentSerializer(incident).data)
        assert ours == renderer.render(serializer.drf_representation(incident)), incident.code
    assert renderer.render(IncidentSerializer(demo, many=True).data) == renderer.render(
        [serializer.drf_representation(incident) for incident in demo]
    )

    # Through the API: every page, and a detail.
    by_code = {incident.code: incident for incident in demo}
    with django_assert_max_num_queries(5):  # revision, page, updates, components (+count)
        page = client.get("/api/v1/incidents/?page_size=50").json()
    seen = []
    while True:
        for row in page["results"]:
            drf = renderer.render(serializer.drf_representation(by_code[row["code"]]))
            assert row == json.loads(drf)
            seen.append(row["code"])
        if not page["next"]:
            break
        page = client.get(page["next"]).json()
    assert sorted(seen) == sorted(by_code)
    maintenance = next(i for i in demo if i.kind == Incident.Kind.MAINTENANCE)
    detail = client.get(f"/api/v1/maintenances/{maintenance.code}/")
    assert detail.content == renderer.render(serializer.drf_representation(maintenance))
