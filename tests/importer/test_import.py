"""``manage.py import_statuspage`` against a Statuspage-shaped manage API on loopback."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management.base import CommandError
from django.utils import timezone

from components import uptime
from components.models import ChangeSource, Component, ComponentGroup, ComponentStatusChange
from importer.models import ImportedObject
from incidents import services
from incidents.models import (
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Postmortem,
    StatusChangeCause,
)
from subscriptions.models import Delivery, NotificationEvent, Subscriber
from tests.importer.conftest import counts, run_import
from tests.importer.fakeapi import NOW, PAGE_ID, add_malformed

pytestmark = pytest.mark.django_db

MODELS = [
    ComponentGroup,
    Component,
    ComponentStatusChange,
    StatusChangeCause,
    IncidentTemplate,
    Incident,
    IncidentUpdate,
    Postmortem,
    Subscriber,
    ImportedObject,
]


def snapshot():
    """Every row the import may write, with when it was last saved."""
    state = {}
    for model in MODELS:
        fields = ["pk"] + (["updated_at"] if hasattr(model, "updated_at") else [])
        state[model.__name__] = sorted(model._default_manager.values_list(*fields))
    state["incident components"] = sorted(
        Incident.components.through.objects.values_list("incident_id", "component_id")
    )
    state["subscriber components"] = sorted(
        Subscriber.components.through.objects.values_list("subscriber_id", "component_id")
    )
    state["subscriber incidents"] = sorted(
        Subscriber.incidents.through.objects.values_list("subscriber_id", "incident_id")
    )
    return state


def nothing_sent():
    assert not NotificationEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert mail.outbox == []


def test_import_brings_the_whole_page_over(fake, client):
    out, err = run_import(fake)

    assert "Import summary" in out
    assert err == ""
    # Groups and components keep their ids as codes and their places on the page.
    api, web = (
        ComponentGroup.objects.get(code="grp0api00001"),
        ComponentGroup.objects.get(code="grp0web00002"),
    )
    assert (api.name, api.position, web.position) == ("API", 1, 3)
    rest = Component.objects.get(code="cmp0rest0001")
    cdn = Component.objects.get(code="cmp0cdn00003")
    assert (rest.group, rest.position, rest.description) == (api, 1, "REST API of the example page")
    assert (cdn.group, cdn.position) == (None, 2)
    assert [c.name for c in Component.objects.in_page_order()] == [
        "REST API",
        "GraphQL",
        "CDN",
        "Marketing site",
        "Dashboard",
    ]
    # An id that is not one of our codes gets a new code, and the summary says so.
    dashboard = Component.objects.get(name="Dashboard")
    assert dashboard.code != "legacy-dashboard" and len(dashboard.code) == 12
    assert "legacy-dashboard" in out and dashboard.code in out
    assert dashboard.status == Component.Status.PARTIAL_OUTAGE  # the open incident

    # Incidents and maintenance with every update, as the source dated them.
    major = Incident.objects.get(code="inc0major001")
    assert (major.status, major.impact, major.kind) == ("resolved", "critical", "incident")
    updates = list(major.updates.order_by("display_at"))
    assert [u.code for u in updates] == [f"upd0major00{i}" for i in range(1, 5)]
    source_updates = fake.data.incidents_by_id("inc0major001")["incident_updates"][::-1]
    assert [u.display_at.isoformat()[:19] for u in updates] == [
        u["display_at"][:19] for u in source_updates
    ]
    assert major.started_at == updates[0].display_at
    assert major.resolved_at == updates[-1].display_at
    assert major.monitoring_at == updates[2].display_at
    assert updates[0].affected_components == [
        {
            "code": "cmp0rest0001",
            "name": "REST API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    assert list(major.components.all()) == [rest]
    maintenance = Incident.objects.get(code="mnt0www00001")
    assert maintenance.kind == Incident.Kind.MAINTENANCE
    assert maintenance.status == "completed"
    assert maintenance.started_at == maintenance.updates.get(status="in_progress").display_at
    assert maintenance.auto_start and maintenance.auto_complete
    # Postmortems: the published one published, the draft a draft.
    assert major.postmortem.is_published
    assert major.postmortem.body.startswith("The deploy skipped a migration")
    draft = Incident.objects.get(code="inc0degrd001").postmortem
    assert not draft.is_published and draft.body.startswith("Draft:")

    template = IncidentTemplate.objects.get(code="tpl0api00001")
    assert (template.title, template.status) == ("Elevated API errors", "investigating")
    assert {c.code for c in template.components.all()} == {"cmp0rest0001", "cmp0gql00002"}

    # The reader pages show the imported past.
    page = client.get("/incidents/inc0major001/")
    assert page.status_code == 200
    assert b"A bad deploy; rolling back." in page.content
    assert b"The deploy skipped a migration" in page.content
    listed = client.get("/api/v2/incidents.json").json()["incidents"]
    assert {i["id"] for i in listed} == {"inc0major001", "inc0degrd001", "inc0open0001"}
    maintenances = client.get("/api/v2/scheduled-maintenances.json").json()
    assert [m["id"] for m in maintenances["scheduled_maintenances"]] == ["mnt0www00001"]
    assert client.get("/uptime/").status_code == 200
    nothing_sent()


def test_history_is_rebuilt_from_the_updates(fake):
    run_import(fake)

    rest = Component.objects.get(code="cmp0rest0001")
    rows = list(rest.status_changes.order_by("at", "pk"))
    assert [(r.old_status, r.new_status) for r in rows] == [
        (None, "operational"),
        ("operational", "major_outage"),
        ("major_outage", "operational"),
    ]
    assert {(r.source, r.actor) for r in rows} == {
        (ChangeSource.IMPORT, f"{fake.url}/pages/{PAGE_ID}")
    }
    # Each change is linked to the update that made it.
    assert rows[1].cause.incident_update.code == "upd0major001"
    assert rows[2].cause.incident_update.code == "upd0major003"
    assert rows[1].at == rows[1].cause.incident_update.display_at

    # Uptime over 90 days counts the five hours of major outage, and nothing before.
    today = timezone.localdate()
    days = uptime.daily_uptime([rest], today - timedelta(days=89), today)[rest.pk]
    outage_day = next(d for d in days.days if d.day == (NOW - timedelta(days=20)).date())
    assert outage_day.percent == pytest.approx(100 * (1 - 5 / 24))
    assert days.percent < 100
    # A degradation is up; a partial outage counts 30 %.
    cdn = Component.objects.get(code="cmp0cdn00003")
    cdn_days = uptime.daily_uptime([cdn], today - timedelta(days=89), today)[cdn.pk]
    cdn_day = next(d for d in cdn_days.days if d.day == (NOW - timedelta(days=10)).date())
    assert cdn_day.percent == pytest.approx(100 * (1 - 0.3 * 2 / 24))


def test_subscribers_come_over_active_with_their_choices_and_nobody_is_emailed(fake):
    run_import(fake)

    alice = Subscriber.objects.get(code="sub0alice001")
    assert (alice.email, alice.state, alice.all_components) == ("alice@example.com", "active", True)
    bob = Subscriber.objects.get(code="sub0bob00002")
    assert bob.email == "bob@example.com" and bob.is_active and not bob.all_components
    assert {c.code for c in bob.components.all()} == {"cmp0rest0001", "cmp0gql00002"}
    carol = Subscriber.objects.get(code="sub0carol003")
    assert {c.code for c in carol.components.all()} == {"cmp0cdn00003"}
    # Followers of the open incident: a new address follows only it; one already
    # imported follows it as well.
    dave = Subscriber.objects.get(email="dave@example.com")
    assert dave.is_active and not dave.all_components
    assert [i.code for i in dave.incidents.all()] == ["inc0open0001"]
    assert [i.code for i in alice.incidents.all()] == ["inc0open0001"]
    assert alice.all_components
    # Only email subscribers: the SMS one is not asked for.
    assert Subscriber.objects.count() == 4
    nothing_sent()


def test_a_second_run_changes_nothing(fake):
    run_import(fake)
    before = snapshot()

    out, _ = run_import(fake)

    assert snapshot() == before
    assert counts(out, "Incidents and") == [0, 0, 4, 0, 0]
    assert counts(out, "Components") == [0, 0, 5, 0, 0]
    nothing_sent()


def test_a_second_run_updates_what_changed_at_the_source(fake):
    run_import(fake)
    data = fake.data
    data.components_by_id("cmp0cdn00003")["name"] = "Edge network"
    opened = data.incidents_by_id("inc0open0001")
    resolved_at = timezone.now().replace(microsecond=0)
    stamp = resolved_at.isoformat().replace("+00:00", ".000Z")
    opened["incident_updates"].insert(
        0,
        {
            "id": "upd0open0002",
            "incident_id": "inc0open0001",
            "status": "resolved",
            "body": "Dashboards are back.",
            "display_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            "deliver_notifications": True,
            "affected_components": [
                {
                    "code": "legacy-dashboard",
                    "name": "Dashboard",
                    "old_status": "partial_outage",
                    "new_status": "operational",
                }
            ],
        },
    )
    opened.update(status="resolved", resolved_at=stamp, updated_at=stamp)
    dash = data.components_by_id("legacy-dashboard")
    dash.update(status="operational", updated_at=stamp)
    updates_before = IncidentUpdate.objects.count()

    run_import(fake)

    assert Component.objects.get(code="cmp0cdn00003").name == "Edge network"
    incident = Incident.objects.get(code="inc0open0001")
    assert incident.status == "resolved" and incident.resolved_at == resolved_at
    assert IncidentUpdate.objects.count() == updates_before + 1
    dashboard = Component.objects.get(name="Dashboard")
    assert dashboard.status == "operational"
    assert [
        (r.old_status, r.new_status, r.at)
        for r in dashboard.status_changes.order_by("at", "pk")
        if r.old_status
    ][-1] == ("partial_outage", "operational", resolved_at)
    # The history holds one row per change, whatever path wrote it first.
    rows = list(dashboard.status_changes.order_by("at", "pk"))
    assert [(r.old_status, r.new_status) for r in rows] == [
        (None, "operational"),
        ("operational", "partial_outage"),
        ("partial_outage", "operational"),
    ]
    nothing_sent()


def test_an_interrupted_import_resumes_and_completes(fake):
    fake.fail_after = 11  # the source dies during the second page of incidents

    with pytest.raises(CommandError, match="Run the same command again to resume"):
        run_import(fake)

    # Whatever was imported is whole: every imported incident has all its updates.
    for incident in Incident.objects.all():
        source = fake.data.incidents_by_id(incident.code)
        assert incident.updates.count() == len(source["incident_updates"])
    assert Incident.objects.count() < len(fake.data.incidents)

    fake.fail_after = None
    run_import(fake)

    assert set(Incident.objects.values_list("code", flat=True)) == {
        i["id"] for i in fake.data.incidents
    }
    assert Subscriber.objects.count() == 4
    rest = Component.objects.get(code="cmp0rest0001")
    assert rest.status_changes.count() == 3
    before = snapshot()
    run_import(fake)
    assert snapshot() == before
    nothing_sent()


def test_dry_run_reports_and_writes_nothing(fake):
    out, _ = run_import(fake, "--dry-run")

    assert "Dry run" in out and "would create" in out
    assert counts(out, "Incidents and") == [4, 0, 0, 0, 0]
    for model in MODELS:
        assert not model._default_manager.exists(), model.__name__
    nothing_sent()


def test_dry_run_after_an_import_finds_nothing_to_do(fake):
    run_import(fake)
    before = snapshot()

    out, _ = run_import(fake, "--dry-run")

    assert snapshot() == before
    assert counts(out, "Incidents and") == [0, 0, 4, 0, 0]
    assert counts(out, "Component history") == [0, 0, 5, 0, 0]


def test_a_bad_key_is_refused_with_a_clear_message_and_nothing_written(fake):
    with pytest.raises(CommandError, match=r"refused the API key \(401\).*--api-key"):
        run_import(fake, api_key="wrong")

    for model in MODELS:
        assert not model._default_manager.exists()


def test_an_unknown_page_is_named(fake):
    with pytest.raises(CommandError, match=r"No page zzzzzzzzzzzz at .*--page-id"):
        run_import(fake, page_id="zzzzzzzzzzzz")


def test_an_unreachable_host_is_named(fake):
    fake.server.server_close()  # nothing listens on the port any more
    with pytest.raises(CommandError, match=r"Cannot reach http://127\.0\.0\.1:\d+/v1/pages/"):
        run_import(fake.url)
    for model in MODELS:
        assert not model._default_manager.exists()


def test_a_rate_limited_request_is_retried_after_the_delay_asked(fake):
    path = f"/v1/pages/{PAGE_ID}/incidents"
    fake.rate_limit_once = {path}

    run_import(fake)

    answers = [e.status for e in fake.exchanges if e.path == path]
    assert answers[:2] == [429, 200]
    assert Incident.objects.count() == 4


def test_malformed_records_are_named_and_nothing_of_them_is_written(fake):
    add_malformed(fake.data)

    with pytest.raises(CommandError, match=r"2 object\(s\) could not be imported"):
        run_import(fake)

    # The others are imported; nothing of the broken ones is.
    assert Incident.objects.count() == 4
    assert not Incident.objects.filter(code="inc0broken01").exists()
    assert not IncidentUpdate.objects.filter(code__startswith="upd0broken").exists()
    assert not Subscriber.objects.filter(code="sub0bad00004").exists()
    assert Subscriber.objects.count() == 4


def test_malformed_records_messages_name_the_object(fake):
    add_malformed(fake.data)

    with pytest.raises(CommandError) as refused:
        run_import(fake)

    err = refused.value.stderr
    assert "incident inc0broken01 (“Broken record”)" in err
    assert "'exploded' is unknown" in err
    assert "subscriber sub0bad00004 (“not an address”)" in err
    assert "valid email address" in err
    assert counts(refused.value.stdout, "Incidents and") == [4, 0, 0, 0, 1]


def test_objects_it_did_not_import_are_left_alone(fake):
    mine = Component.objects.create(code="cmp0cdn00003", name="Our own CDN", position=9)
    carol = Subscriber.objects.create(email="carol@example.com")

    _out, err = run_import(fake)

    mine.refresh_from_db()
    assert (mine.name, mine.position) == ("Our own CDN", 9)
    assert mine.status_changes.count() == 1  # its creation, nothing imported
    carol.refresh_from_db()
    assert carol.state == Subscriber.State.UNCONFIRMED and carol.code != "sub0carol003"
    assert "component cmp0cdn00003 (“CDN”): a local component not imported has the code" in err
    assert "carol@example.com is subscribed here already" in err
    # The incident that touched it is imported without it.
    assert list(Incident.objects.get(code="inc0degrd001").components.all()) == [
        Component.objects.get(code="cmp0gql00002")
    ]
    # A second run still leaves them alone.
    run_import(fake)
    mine.refresh_from_db()
    assert mine.name == "Our own CDN"


def test_an_unsubscribed_imported_address_is_not_resubscribed(fake):
    run_import(fake)
    bob = Subscriber.objects.get(code="sub0bob00002")
    bob.state = Subscriber.State.UNSUBSCRIBED
    bob.save()
    fake.data.subscribers[1]["components"] = '["cmp0rest0001"]'

    run_import(fake)

    bob.refresh_from_db()
    assert bob.state == Subscriber.State.UNSUBSCRIBED


def test_an_incident_in_the_way_is_named_and_the_rest_of_its_page_imported(fake):
    mine = services.open_incident(
        name="Ours", status="investigating", body="Our own.", deliver_notifications=False
    )
    Incident.objects.filter(pk=mine.pk).update(code="inc0degrd001")

    _out, err = run_import(fake)

    assert (
        "incident inc0degrd001 (“Slow GraphQL queries”): a local incident not imported has" in err
    )
    assert Incident.objects.get(code="inc0degrd001").name == "Ours"
    assert set(Incident.objects.values_list("code", flat=True)) == {
        "inc0major001",
        "inc0degrd001",
        "mnt0www00001",
        "inc0open0001",
    }
    assert Incident.objects.get(code="inc0major001").updates.count() == 4


def test_incident_subscribers_turned_off_at_the_source_are_none(fake):
    fake.answer_with = {
        f"/v1/pages/{PAGE_ID}/incidents/inc0open0001/subscribers": (404, '{"message": "Off"}')
    }

    out, _ = run_import(fake)

    assert counts(out, "Incident subscribers") == [0, 0, 0, 0, 0]
    assert not Subscriber.objects.filter(email="dave@example.com").exists()


def test_the_console_lists_what_was_imported(fake, admin_client):
    run_import(fake)

    page = admin_client.get("/admin/importer/importedobject/?kind__exact=incident")

    assert page.status_code == 200
    assert b"inc0major001" in page.content
    assert admin_client.get("/admin/importer/importedobject/add/").status_code == 403
