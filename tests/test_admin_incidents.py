"""The incident console through the test client: posting updates (on the incident's
"Post an update" page), opening incidents, refused input, body corrections, the details
page, the resolve action, postmortems, the list page."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from components.models import Component, ComponentStatusChange
from incidents import services
from incidents.admin_hooks import update_annotations
from incidents.models import Incident, IncidentTemplate, IncidentUpdate, Postmortem
from incidents.signals import postmortem_published, update_posted

CS = Component.Status


@pytest.fixture
def staff_client(client, support_user):
    client.force_login(support_user)
    return client


def change_url(incident) -> str:
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def post_url(incident, model: str = "incident") -> str:
    return reverse(f"admin:incidents_{model}_post", args=[incident.pk])


def correct_url(update) -> str:
    return reverse("admin:incidents_incident_correct", args=[update.incident_id, update.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def form_data(incident, **overrides) -> dict:
    """The POST a browser sends from the "Post an update" page with nothing filled in
    (without the stale-form guard's hidden field, unless given)."""
    data = {
        "update_status": incident.status,
        "update_body": "",
        "notify": "on",
        "display_at_0": "",
        "display_at_1": "",
    }
    for component in Component.objects.all():
        data[f"component_{component.code}"] = ""
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def row_counts() -> tuple[int, int, int, int]:
    return (
        Incident.objects.count(),
        IncidentUpdate.objects.count(),
        ComponentStatusChange.objects.count(),
        Postmortem.objects.count(),
    )


class Recorder:
    """A signal receiver that remembers its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)


@pytest.fixture
def posted():
    recorder = Recorder()
    update_posted.connect(recorder, dispatch_uid="test-admin-posted")
    yield recorder
    update_posted.disconnect(dispatch_uid="test-admin-posted")


def test_incident_page_shows_post_update_form_and_timeline(staff_client, open_incident):
    incident = open_incident(body="Checkout requests **fail** for some customers.")
    response = staff_client.get(post_url(incident))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Post an update" in html
    assert "Timeline" in html
    assert "<strong>fail</strong>" in html  # the body, rendered
    # Only incident statuses are offered for an incident.
    assert 'value="identified"' in html
    assert 'value="in_progress"' not in html


def test_posting_an_update_changes_components_and_tells_what_happened(
    staff_client, open_incident, rest, graphql, website, posted, support_user
):
    incident = open_incident()
    posted.calls.clear()
    history_before = ComponentStatusChange.objects.count()
    data = form_data(
        incident,
        update_status="identified",
        update_body="A bad deploy; rolling back.",
        **{
            f"component_{rest.code}": CS.PARTIAL_OUTAGE,
            f"component_{graphql.code}": CS.DEGRADED_PERFORMANCE,
            f"component_{website.code}": CS.DEGRADED_PERFORMANCE,
        },
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url == post_url(incident)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.IDENTIFIED
    update = incident.updates.first()
    assert update.body == "A bad deploy; rolling back."
    assert update.author == support_user
    assert update.deliver_notifications is True
    assert {c.code: c.status for c in Component.objects.all()} == {
        rest.code: CS.PARTIAL_OUTAGE,
        graphql.code: CS.DEGRADED_PERFORMANCE,
        website.code: CS.DEGRADED_PERFORMANCE,
    }
    assert set(incident.components.all()) == {rest, graphql, website}
    assert ComponentStatusChange.objects.count() == history_before + 3
    assert ComponentStatusChange.objects.filter(cause__incident_update=update).count() == 3
    assert len(posted.calls) == 1
    assert messages_of(response) == [
        "Update posted (Identified); 3 components changed; subscribers will be notified."
    ]


def test_posting_without_notification_and_back_dated(staff_client, open_incident, posted):
    incident = open_incident(display_at=timezone.now() - timedelta(hours=3))
    when = timezone.now() - timedelta(hours=2)
    data = form_data(
        incident,
        update_status="monitoring",
        update_body="A fix is out.",
        notify=None,
        display_at_0=when.strftime("%Y-%m-%d"),
        display_at_1=when.strftime("%H:%M:%S"),
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 302
    update = incident.updates.latest("created_at")
    assert update.body == "A fix is out."
    assert update.deliver_notifications is False
    assert abs((update.display_at - when).total_seconds()) < 1
    assert "no notification sent" in messages_of(response)[0]


def test_back_dated_time_is_typed_in_the_page_time_zone(
    staff_client, open_incident, posted, settings
):
    settings.STATUSPAGE_TIME_ZONE = "America/Sao_Paulo"  # UTC-3, no DST since 2019
    incident = open_incident(display_at=timezone.now() - timedelta(hours=3))
    when_utc = (timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    local = when_utc - timedelta(hours=3)  # the wall-clock time an operator in São Paulo reads
    data = form_data(
        incident,
        update_status="identified",
        update_body="Found it.",
        display_at_0=local.strftime("%Y-%m-%d"),
        display_at_1=local.strftime("%H:%M:%S"),
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 302
    assert incident.updates.latest("created_at").display_at == when_utc


def test_resolving_with_unchanged_components_applies_the_resolve_rule(
    staff_client, open_incident, rest
):
    incident = open_incident()
    assert Component.objects.get(pk=rest.pk).status == CS.MAJOR_OUTAGE
    data = form_data(incident, update_status="resolved", update_body="All good now.")
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 302
    assert Component.objects.get(pk=rest.pk).status == CS.OPERATIONAL
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.RESOLVED
    assert messages_of(response)[0].startswith("Update posted (Resolved); 1 component changed")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"update_status": "monitoring", "update_body": "   "}, "update_body", "Write a message"),
        (
            {"update_status": "in_progress", "update_body": "Starting."},
            "update_status",
            "Select a valid choice",
        ),
        ({"update_body": "Hm.", "component_REST": "exploded"}, None, "Select a valid choice"),
        (
            {"update_body": "Late.", "display_at_0": "2999-01-01", "display_at_1": "10:00"},
            None,
            "cannot be dated in the future",
        ),
    ],
)
def test_bad_input_shows_errors_and_saves_nothing(
    staff_client, open_incident, rest, posted, overrides, field, message
):
    incident = open_incident()
    posted.calls.clear()
    overrides = {
        (f"component_{rest.code}" if k == "component_REST" else k): v for k, v in overrides.items()
    }
    before = row_counts()
    status_before = Component.objects.get(pk=rest.pk).status
    response = staff_client.post(post_url(incident), form_data(incident, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please correct the error" in html
    assert message in html
    if field:
        assert field in response.context["adminform"].form.errors
    assert row_counts() == before
    assert Component.objects.get(pk=rest.pk).status == status_before
    assert Incident.objects.get(pk=incident.pk).status == incident.status
    assert posted.calls == []


def test_service_conflict_becomes_a_form_error_and_saves_nothing(
    staff_client, open_incident, django_user_model
):
    """An update on a completed maintenance is refused by the service (ConflictError):
    nothing is saved, not even a renamed title sent along with it."""
    start = timezone.now() - timedelta(hours=3)
    maintenance = services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        display_at=start - timedelta(days=1),
    )
    data = form_data(
        maintenance,
        name="Database upgrade (renamed)",
        update_status="in_progress",
        update_body="Starting now.",
        scheduled_for_0=start.strftime("%Y-%m-%d"),
        scheduled_for_1=start.strftime("%H:%M:%S"),
        scheduled_until_0=(start + timedelta(hours=1)).strftime("%Y-%m-%d"),
        scheduled_until_1=(start + timedelta(hours=1)).strftime("%H:%M:%S"),
        remind_before="",
    )
    # Someone else completes it between page load and submit.
    services.resolve(maintenance)
    before = row_counts()
    response = staff_client.post(post_url(maintenance, "maintenance"), data)
    assert response.status_code == 200
    assert "it cannot take more updates" in response.content.decode()
    assert row_counts() == before
    assert Incident.objects.get(pk=maintenance.pk).name == "Database upgrade"


def test_adding_an_incident_posts_its_first_update(staff_client, rest, graphql, posted):
    url = reverse("admin:incidents_incident_add")
    response = staff_client.get(url)
    assert response.status_code == 200
    assert "First update" in response.content.decode()
    data = {
        "name": "Elevated API errors",
        "impact_override": "",
        "update_status": "investigating",
        "update_body": "We are investigating elevated error rates.",
        "notify": "on",
        "display_at_0": "",
        "display_at_1": "",
        f"component_{rest.code}": CS.MAJOR_OUTAGE,
        f"component_{graphql.code}": "affected",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get(name="Elevated API errors")
    assert response.url == post_url(incident)
    assert incident.kind == Incident.Kind.INCIDENT
    assert incident.status == Incident.Status.INVESTIGATING
    assert incident.impact == Incident.Impact.CRITICAL
    assert set(incident.components.all()) == {rest, graphql}
    assert incident.updates.count() == 1
    assert Component.objects.get(pk=rest.pk).status == CS.MAJOR_OUTAGE
    assert Component.objects.get(pk=graphql.pk).status == CS.OPERATIONAL
    assert len(posted.calls) == 1
    assert messages_of(response) == [
        "Opened; first update posted (Investigating); 1 component changed; "
        "subscribers will be notified."
    ]


def test_adding_an_incident_without_a_message_saves_nothing(staff_client, rest):
    before = row_counts()
    response = staff_client.post(
        reverse("admin:incidents_incident_add"),
        {
            "name": "Half an incident",
            "update_status": "investigating",
            "update_body": "",
            f"component_{rest.code}": CS.MAJOR_OUTAGE,
        },
    )
    assert response.status_code == 200
    assert "update_body" in response.context["adminform"].form.errors
    assert row_counts() == before
    assert Component.objects.get(pk=rest.pk).status == CS.OPERATIONAL


def test_template_prefills_the_add_form(staff_client, rest):
    template = IncidentTemplate.objects.create(
        name="API down",
        title="API unavailable",
        body="The API is not answering.",
        status="identified",
        component_status=CS.MAJOR_OUTAGE,
    )
    template.components.add(rest)
    response = staff_client.get(
        reverse("admin:incidents_incident_add") + f"?template={template.pk}"
    )
    form = response.context["adminform"].form
    assert form["name"].value() == "API unavailable"
    assert form["update_status"].value() == "identified"
    assert form["update_body"].value() == "The API is not answering."
    assert form[f"component_{rest.code}"].value() == CS.MAJOR_OUTAGE


def test_correcting_a_body_does_not_post_or_notify(staff_client, open_incident, posted):
    incident = open_incident(body="We are lookign into it.")
    update = incident.updates.get()
    posted.calls.clear()
    response = staff_client.post(correct_url(update), {"body": "We are looking into it."})
    assert response.status_code == 302
    assert response.url == post_url(incident)
    update.refresh_from_db()
    assert update.body == "We are looking into it."
    assert incident.updates.count() == 1
    assert posted.calls == []
    assert messages_of(response) == [
        "Text of 1 earlier update corrected (nobody was notified again)."
    ]


def test_timeline_shows_plugin_annotations(staff_client, open_incident):
    incident = open_incident()
    update = incident.updates.get()

    def deliveries(updates):
        return {u.pk: "<b>3 sent</b>" for u in updates}

    def broken(updates):
        raise RuntimeError("plug-in bug")

    update_annotations.extend([deliveries, broken])
    try:
        html = staff_client.get(post_url(incident)).content.decode()
    finally:
        update_annotations.remove(deliveries)
        update_annotations.remove(broken)
    # Plain strings are escaped; a broken plug-in does not break the page.
    assert "&lt;b&gt;3 sent&lt;/b&gt;" in html
    assert update.body in html


def test_resolve_action_resolves_selected_and_reports_count(
    staff_client, open_incident, rest, posted
):
    first = open_incident(name="First")
    second = open_incident(name="Second", components={rest.code: CS.PARTIAL_OUTAGE})
    done = open_incident(name="Done")
    services.resolve(done)
    posted.calls.clear()
    selection = {"action": "resolve_selected", "_selected_action": [first.pk, second.pk, done.pk]}
    # As the browser posts it from the list showing every state (it opens on open ones).
    url = reverse("admin:incidents_incident_changelist") + "?state=all"
    asked = staff_client.post(url, selection)
    assert asked.status_code == 200  # the confirmation page; nothing resolved yet
    assert Incident.objects.filter(status=Incident.Status.RESOLVED).count() == 1
    response = staff_client.post(url, {**selection, "notify": "notified_before", "confirm": "1"})
    assert response.status_code == 302
    for incident in (first, second):
        incident.refresh_from_db()
        assert incident.status == Incident.Status.RESOLVED
        assert incident.updates.first().body == services.DEFAULT_RESOLVED_BODY
    assert Component.objects.get(pk=rest.pk).status == CS.OPERATIONAL
    assert len(posted.calls) == 2
    assert messages_of(response) == ["Resolved 2 incidents. 1 already closed, left as they were."]


def test_incident_list_filters_and_searches(staff_client, open_incident):
    open_incident(name="Login failures", body="SSO provider times out.")
    closed = open_incident(name="Slow builds")
    services.resolve(closed)
    url = reverse("admin:incidents_incident_changelist")
    unresolved = staff_client.get(url, {"state": "open"}).context["cl"].queryset
    assert [i.name for i in unresolved] == ["Login failures"]
    found = staff_client.get(url, {"q": "sso provider"}).context["cl"].queryset
    assert [i.name for i in found] == ["Login failures"]


@pytest.mark.parametrize("count", [2, 12])
def test_incident_list_query_count_does_not_grow(
    staff_client, open_incident, rest, graphql, count, django_assert_max_num_queries
):
    for n in range(count):
        incident = open_incident(
            name=f"Incident {n}", components={rest.code: CS.MAJOR_OUTAGE, graphql.code: None}
        )
        services.post_update(incident, status="monitoring", body="Watching.")
    url = reverse("admin:incidents_incident_changelist")
    with django_assert_max_num_queries(12):
        response = staff_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count
    assert "REST API, GraphQL" in response.content.decode()


def test_maintenance_is_scheduled_from_its_own_page(staff_client, rest, posted):
    start = timezone.now() + timedelta(days=2)
    response = staff_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Database upgrade",
            "scheduled_for_0": start.strftime("%Y-%m-%d"),
            "scheduled_for_1": "02:00:00",
            "scheduled_until_0": start.strftime("%Y-%m-%d"),
            "scheduled_until_1": "04:00:00",
            "auto_start": "on",
            "auto_complete": "on",
            "remind_before": "01:00:00",
            "update_status": "scheduled",
            "update_body": "We will upgrade the primary database.",
            "notify": "on",
            f"component_{rest.code}": "affected",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    maintenance = Incident.objects.get(name="Database upgrade")
    assert maintenance.kind == Incident.Kind.MAINTENANCE
    assert maintenance.status == Incident.Status.SCHEDULED
    assert maintenance.auto_start and maintenance.auto_complete
    assert maintenance.remind_before == timedelta(hours=1)
    assert maintenance.scheduled_until - maintenance.scheduled_for == timedelta(hours=2)
    assert list(maintenance.components.all()) == [rest]
    assert Component.objects.get(pk=rest.pk).status == CS.OPERATIONAL
    listing = staff_client.get(reverse("admin:incidents_maintenance_changelist"))
    assert [m.name for m in listing.context["cl"].result_list] == ["Database upgrade"]


def test_maintenance_window_must_end_after_it_starts(staff_client, rest):
    start = timezone.now() + timedelta(days=2)
    before = row_counts()
    response = staff_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Backwards",
            "scheduled_for_0": start.strftime("%Y-%m-%d"),
            "scheduled_for_1": "04:00:00",
            "scheduled_until_0": start.strftime("%Y-%m-%d"),
            "scheduled_until_1": "02:00:00",
            "update_status": "scheduled",
            "update_body": "Planned.",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert row_counts() == before


class TestPostmortem:
    @pytest.fixture
    def resolved(self, open_incident):
        incident = open_incident(name="Outage")
        services.resolve(incident)
        return incident

    def url(self, incident):
        return reverse("admin:incidents_incident_postmortem", args=[incident.pk])

    def test_preview_renders_without_saving(self, staff_client, resolved):
        response = staff_client.post(
            self.url(resolved), {"body": "## Timeline\n\n**Root cause**", "_preview": "1"}
        )
        assert response.status_code == 200
        assert "<strong>Root cause</strong>" in response.content.decode()
        assert not Postmortem.objects.exists()

    def test_draft_then_publish_with_notification(self, staff_client, resolved):
        received = Recorder()
        postmortem_published.connect(received, dispatch_uid="test-admin-pm")
        try:
            response = staff_client.post(
                self.url(resolved), {"body": "What happened.", "_save": "1"}
            )
            assert response.status_code == 302
            postmortem = Postmortem.objects.get(incident=resolved)
            assert postmortem.body == "What happened."
            assert not postmortem.is_published
            assert messages_of(response) == ["Postmortem saved as a draft."]

            response = staff_client.post(
                self.url(resolved),
                {"body": "What happened, and why.", "notify": "on", "_publish": "1"},
            )
            assert response.status_code == 302
        finally:
            postmortem_published.disconnect(dispatch_uid="test-admin-pm")
        postmortem.refresh_from_db()
        assert postmortem.is_published and postmortem.notify_subscribers
        assert postmortem.body == "What happened, and why."
        assert len(received.calls) == 1 and received.calls[0]["notify"] is True
        assert messages_of(response)[-1] == "Postmortem published; subscribers will be notified."

    def test_publishing_on_an_unresolved_incident_is_refused_and_saves_nothing(
        self, staff_client, open_incident
    ):
        incident = open_incident()
        response = staff_client.post(self.url(incident), {"body": "Too early.", "_publish": "1"})
        assert response.status_code == 200
        assert "Resolve the incident before publishing" in response.content.decode()
        assert not Postmortem.objects.exists()

    def test_empty_body_is_refused(self, staff_client, resolved):
        response = staff_client.post(self.url(resolved), {"body": "", "_save": "1"})
        assert response.status_code == 200
        assert response.context["form"].errors["body"]
        assert not Postmortem.objects.exists()


def test_update_posted_meanwhile_stops_a_stale_form(staff_client, open_incident, posted):
    """Two operators on one incident: the second must read the first's update first."""
    incident = open_incident()
    page = staff_client.get(post_url(incident))
    seen = page.context["adminform"].form["last_seen_update"].value()
    services.resolve(incident)  # the other operator
    incident.refresh_from_db()
    posted.calls.clear()
    data = form_data(
        incident,
        update_status="monitoring",
        update_body="Still watching.",
        last_seen_update=str(seen),
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 200
    assert "Someone posted an update since you opened this page" in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.RESOLVED
    assert posted.calls == []
    # Having read it, the operator may post again (the form now knows the newest update).
    form = response.context["adminform"].form
    data["last_seen_update"] = form["last_seen_update"].value()
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.MONITORING


@pytest.mark.parametrize("updates", [1, 10])
def test_incident_page_query_count_does_not_grow_with_the_timeline(
    staff_client, open_incident, updates, django_assert_max_num_queries
):
    incident = open_incident()
    for n in range(updates - 1):
        services.post_update(incident, status="identified", body=f"Progress {n}.")
    with django_assert_max_num_queries(14):
        response = staff_client.get(post_url(incident))
    assert response.status_code == 200
    assert len(response.context["timeline"]) == updates


# -- the "Post an update" page, the details page, corrections ---------------------------


def test_post_page_lists_every_component_with_its_current_status(
    staff_client, open_incident, rest, graphql, website
):
    incident = open_incident(components={rest.code: CS.MAJOR_OUTAGE, graphql.code: None})
    IncidentTemplate.objects.create(name="Fixed", body="A fix is out.", status="monitoring")
    response = staff_client.get(post_url(incident))
    assert response.status_code == 200
    form = response.context["form"]
    assert [row.component for row in form.affected_rows] == [rest, graphql]
    assert [row.component for row in form.other_rows] == [website]
    html = response.content.decode()
    for component in (rest, graphql, website):
        assert f'name="component_{component.code}"' in html
    assert '<span class="badge cstatus-major_outage">Major outage</span>' in html
    assert "?template=" in html and "Fixed" in html
    assert 'value="Post update"' in html


def test_list_names_open_the_incident_on_post_an_update(staff_client, open_incident):
    incident = open_incident(name="Login failures")
    html = staff_client.get(reverse("admin:incidents_incident_changelist")).content.decode()
    assert f'<a href="{post_url(incident)}">Login failures</a>' in html
    assert f'href="{change_url(incident)}"' not in html


def test_refused_post_keeps_what_was_typed(staff_client, open_incident, website, posted):
    incident = open_incident()
    posted.calls.clear()
    before = row_counts()
    data = form_data(
        incident,
        update_status="identified",
        update_body="Found the bad *deploy*.",
        notify=None,
        display_at_0="2999-01-01",
        display_at_1="10:00",
        **{f"component_{website.code}": CS.PARTIAL_OUTAGE},
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 200
    assert "cannot be dated in the future" in response.content.decode()
    form = response.context["form"]
    assert form["update_status"].value() == "identified"
    assert form["update_body"].value() == "Found the bad *deploy*."
    assert form[f"component_{website.code}"].value() == CS.PARTIAL_OUTAGE
    assert not form["notify"].value()
    html = response.content.decode()
    assert "Found the bad *deploy*.</textarea>" in html
    assert row_counts() == before
    assert posted.calls == []


def test_stale_form_keeps_what_was_typed(staff_client, open_incident):
    incident = open_incident()
    seen = incident.updates.get().pk
    services.post_update(incident, status="identified", body="Someone else's update.")
    data = form_data(
        incident, update_status="monitoring", update_body="My update.", last_seen_update=seen
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 200
    assert "Someone posted an update since you opened this page" in response.content.decode()
    assert response.context["form"]["update_body"].value() == "My update."
    assert "Someone else&#x27;s update." in response.content.decode()  # in the timeline
    assert incident.updates.count() == 2


def test_completed_maintenance_page_takes_no_more_updates(staff_client, rest):
    start = timezone.now() - timedelta(hours=3)
    maintenance = services.open_incident(
        name="Database upgrade",
        kind=Incident.Kind.MAINTENANCE,
        status="scheduled",
        body="Planned.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        display_at=start - timedelta(days=1),
    )
    services.resolve(maintenance)
    html = staff_client.get(post_url(maintenance, "maintenance")).content.decode()
    assert "it takes no more updates" in html
    assert 'value="Post update"' not in html
    assert "Timeline" in html


def test_change_page_saves_details_only_and_returns_to_the_incident(
    staff_client, open_incident, posted
):
    incident = open_incident(name="API errors")
    posted.calls.clear()
    page = staff_client.get(change_url(incident))
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == {"name", "impact_override"}
    assert f'href="{post_url(incident)}"' in page.content.decode()
    response = staff_client.post(
        change_url(incident), {"name": "API errors (EU)", "impact_override": "minor"}
    )
    assert response.status_code == 302
    assert response.url == post_url(incident)
    incident.refresh_from_db()
    assert incident.name == "API errors (EU)"
    assert incident.impact == Incident.Impact.MINOR  # recomputed from the override
    assert incident.updates.count() == 1
    assert posted.calls == []


def test_adding_maintenance_without_a_window_is_refused_by_the_service(staff_client, rest):
    before = row_counts()
    response = staff_client.post(
        reverse("admin:incidents_maintenance_add"),
        {"name": "Someday", "update_status": "scheduled", "update_body": "Planned."},
    )
    assert response.status_code == 200
    assert "Maintenance needs a scheduled start and end." in response.content.decode()
    assert response.context["form"]["update_body"].value() == "Planned."
    assert row_counts() == before


def test_an_empty_correction_is_refused_and_changes_nothing(staff_client, open_incident, posted):
    incident = open_incident(body="We are lookign into it.")
    update = incident.updates.get()
    response = staff_client.post(correct_url(update), {"body": "  "})
    assert response.status_code == 200
    assert "Write a message for this update." in response.content.decode()
    update.refresh_from_db()
    assert update.body == "We are lookign into it."


def test_correcting_needs_the_permission_to_change_updates(
    client, open_incident, django_user_model
):
    incident = open_incident(body="We are lookign into it.")
    update = incident.updates.get()
    user = django_user_model.objects.create_user("carl", password="x", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_incident", "change_incident"])
    )
    client.force_login(user)
    assert client.post(correct_url(update), {"body": "Fixed."}).status_code == 403
    assert "Correct the text" not in client.get(post_url(incident)).content.decode()
    update.refresh_from_db()
    assert update.body == "We are lookign into it."
