"""Migrations that move data: the cause of a status change moves from components to
incidents and back, on SQLite and PostgreSQL alike."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("components", "0002_initial"), ("incidents", "0004_incident_resolved_at_index")]
AFTER = [
    ("components", "0003_remove_componentstatuschange_incident_update"),
    ("incidents", "0006_copy_status_change_causes"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_status_change_causes_are_carried_over_and_back():
    old = migrate(BEFORE)
    Component = old.get_model("components", "Component")
    Change = old.get_model("components", "ComponentStatusChange")
    Incident = old.get_model("incidents", "Incident")
    Update = old.get_model("incidents", "IncidentUpdate")
    component = Component.objects.create(name="REST API", code="restapi00001")
    incident = Incident.objects.create(name="API errors", code="incident0001", status="resolved")
    update = Update.objects.create(incident=incident, code="update000001", status="resolved")
    now = timezone.now()
    by_hand = Change.objects.create(component=component, new_status="operational", at=now)
    caused = Change.objects.create(
        component=component,
        old_status="operational",
        new_status="major_outage",
        at=now,
        incident_update=update,
    )
    try:
        new = migrate(AFTER)
        Cause = new.get_model("incidents", "StatusChangeCause")
        assert list(Cause.objects.values_list("status_change_id", "incident_update_id")) == [
            (caused.pk, update.pk)
        ]
        assert new.get_model("components", "ComponentStatusChange").objects.count() == 2

        old = migrate(BEFORE)  # and back: the column is filled again
        links = old.get_model("components", "ComponentStatusChange").objects.order_by("pk")
        assert list(links.values_list("pk", "incident_update_id")) == [
            (by_hand.pk, None),
            (caused.pk, update.pk),
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
