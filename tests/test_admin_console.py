"""The incident console as an operator under pressure uses it: back-dating refused with its
reason and nothing lost, scheduled maintenance that waits for its start, bulk resolving
through a confirmation page, the list opening on unresolved incidents, reopening, template
and reminder helpers (see docs/architecture.md, 'The operator console')."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from incidents import services
from incidents.models import Incident, IncidentTemplate, IncidentUpdate

CS = Component.Status
LIST = "admin:incidents_incident_changelist"


@pytest.fixture
def staff_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def long_history(rest, graphql, website):
    """Components that have existed for a month, as in production."""
    ComponentStatusChange.objects.update(at=timezone.now() - timedelta(days=30))


def post_url(incident, model="incident"):
    return reverse(f"admin:incidents_{model}_post", args=[incident.pk])


def messages_of(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def form_data(incident, **overrides):
    data = {"update_status": incident.status, "update_body": "", "notify": "on"}
    data.update({"display_at_0": "", "display_at_1": ""})
    for component in Component.objects.all():
        data[f"component_{component.code}"] = ""
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def main_form(html):
    """The page's posting form (the timeline's correction forms are separate)."""
    start = html.index('id="incident_form"')
    return html[start : html.index("</form>", start)]


# -- back-dating and re-shown forms --------------------------------------------------------


def test_back_dated_before_the_previous_update_is_refused_and_everything_is_kept(
    staff_client, long_history, open_incident, rest
):
    local = timezone.localtime
    incident = open_incident(display_at=timezone.now() - timedelta(hours=2))
    services.post_update(
        incident,
        status="identified",
        body="Second.",
        display_at=timezone.now() - timedelta(hours=1),
    )
    history_before = list(ComponentStatusChange.objects.values_list("pk", "at"))
    when = local(timezone.now() - timedelta(hours=1, minutes=30))
    data = form_data(
        incident,
        update_status="monitoring",
        update_body="A fix is out.",
        display_at_0=when.strftime("%Y-%m-%d"),
        display_at_1=when.strftime("%H:%M:%S"),
        **{f"component_{rest.code}": CS.OPERATIONAL},
    )
    response = staff_client.post(post_url(incident), data)
    assert response.status_code == 200
    html = response.content.decode()
    # The error is an error, on its field; no success message.
    assert "cannot be dated before the previous update" in html
    assert 'class="errornote"' in html
    assert messages_of(response) == []
    form = response.context["form"]
    assert form.errors["display_at"]
    # Every field kept: back-date fields included, and the back-date section open.
    assert form["display_at"].value() == [when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S")]
    assert f'value="{when.strftime("%H:%M:%S")}"' in html
    assert '<details class="backdate" open>' in html
    assert form[f"component_{rest.code}"].value() == CS.OPERATIONAL
    # The whole timeline is shown again, the oldest update included.
    for update in incident.updates.all():
        assert f'id="update-{update.pk}"' in html
    assert incident.updates.count() == 2
    assert list(ComponentStatusChange.objects.values_list("pk", "at")) == history_before


def test_correcting_with_the_same_text_is_not_reported_as_success(staff_client, open_incident):
    incident = open_incident(body="Same.")
    update = incident.updates.get()
    url = reverse("admin:incidents_incident_correct", args=[incident.pk, update.pk])
    response = staff_client.post(url, {"body": "Same."})
    assert response.status_code == 302
    [(level, text)] = messages_of(response)
    assert level == "warning" and "nothing changed" in text


def test_the_post_form_has_one_primary_button(staff_client, open_incident):
    for url in (reverse("admin:incidents_incident_add"), post_url(open_incident())):
        html = main_form(staff_client.get(url).content.decode())
        assert len(re.findall(r'<input type="submit"', html)) == 1, url


def test_affected_components_are_grouped_as_on_the_page_each_group_with_set_all(
    staff_client, open_incident, rest, graphql, website
):
    cdn = ComponentGroup.objects.create(name="Edge", position=2)
    edge = Component.objects.create(name="CDN", group=cdn, position=1)
    incident = open_incident(
        components={rest.code: "partial_outage", website.code: None, edge.code: None}
    )
    html = main_form(staff_client.get(post_url(incident)).content.decode())
    affected = html[html.index('class="component-statuses affected-components"') :]
    affected = affected[: affected.index("</table>")]
    # Page order: Website (ungrouped, position 0), the API group, the Edge group; each
    # group with its own "set all", and one for all affected components.
    assert re.findall(r'<tr class="group-row"><th colspan="2">([^<]*)</th>', affected) == [
        "API",
        "Edge",
    ]
    assert 'aria-label="Set all affected of API"' in affected
    assert 'aria-label="Set all affected of Edge"' in affected
    assert 'aria-label="Set all affected components"' in affected
    names = re.findall(r'<label for="id_component_\w+">([^<]*)</label>', affected)
    assert names == ["Website", "REST API", "CDN"]


# -- maintenance ----------------------------------------------------------------------------


def test_scheduling_maintenance_says_statuses_wait_and_leaves_them_untouched(
    staff_client, rest, graphql
):
    page = staff_client.get(reverse("admin:incidents_maintenance_add")).content.decode()
    assert "take effect when the maintenance starts" in page
    start = timezone.localtime(timezone.now() + timedelta(days=1))
    response = staff_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Storage move",
            "scheduled_for_0": start.strftime("%Y-%m-%d"),
            "scheduled_for_1": "02:00:00",
            "scheduled_until_0": start.strftime("%Y-%m-%d"),
            "scheduled_until_1": "04:00:00",
            "remind_before_0": "3600",
            "remind_before_1": "",
            "update_status": "scheduled",
            "update_body": "We will move storage.",
            "notify": "on",
            f"component_{rest.code}": CS.UNDER_MAINTENANCE,
            f"component_{graphql.code}": CS.DEGRADED_PERFORMANCE,
        },
    )
    assert response.status_code == 302
    maintenance = Incident.objects.get(name="Storage move")
    assert maintenance.remind_before == timedelta(hours=1)
    assert set(maintenance.components.all()) == {rest, graphql}
    assert Component.objects.get(pk=rest.pk).status == CS.OPERATIONAL
    assert Component.objects.get(pk=graphql.pk).status == CS.OPERATIONAL
    # Started by hand: the chosen statuses apply then.
    staff_client.post(
        post_url(maintenance, "maintenance"),
        form_data(maintenance, update_status="in_progress", update_body="Started."),
    )
    assert Component.objects.get(pk=rest.pk).status == CS.UNDER_MAINTENANCE
    assert Component.objects.get(pk=graphql.pk).status == CS.DEGRADED_PERFORMANCE


@pytest.mark.parametrize(
    ("preset", "custom", "expected"),
    [
        ("900", "", timedelta(minutes=15)),
        ("86400", "", timedelta(days=1)),
        ("custom", "90 min", timedelta(minutes=90)),
        ("custom", "2 h", timedelta(hours=2)),
        ("", "", None),
    ],
)
def test_reminder_presets(staff_client, rest, preset, custom, expected):
    start = timezone.localtime(timezone.now() + timedelta(days=2))
    response = staff_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Upgrade",
            "scheduled_for_0": start.strftime("%Y-%m-%d"),
            "scheduled_for_1": "02:00:00",
            "scheduled_until_0": start.strftime("%Y-%m-%d"),
            "scheduled_until_1": "03:00:00",
            "remind_before_0": preset,
            "remind_before_1": custom,
            "update_status": "scheduled",
            "update_body": "Planned.",
        },
    )
    assert response.status_code == 302
    assert Incident.objects.get().remind_before == expected


def test_an_unreadable_custom_reminder_is_a_form_error(staff_client, rest):
    start = timezone.localtime(timezone.now() + timedelta(days=2))
    response = staff_client.post(
        reverse("admin:incidents_maintenance_add"),
        {
            "name": "Upgrade",
            "scheduled_for_0": start.strftime("%Y-%m-%d"),
            "scheduled_for_1": "02:00:00",
            "scheduled_until_0": start.strftime("%Y-%m-%d"),
            "scheduled_until_1": "03:00:00",
            "remind_before_0": "custom",
            "remind_before_1": "soonish",
            "update_status": "scheduled",
            "update_body": "Planned.",
        },
    )
    assert response.status_code == 200
    assert "e.g. 30 min, 2 h or 3 days" in response.content.decode()
    assert response.context["form"]["name"].value() == "Upgrade"
    assert not Incident.objects.exists()


# -- bulk resolve ----------------------------------------------------------------------------


def test_bulk_resolve_asks_first_and_does_nothing_without_confirmation(staff_client, open_incident):
    loud = open_incident(name="Loud outage")
    quiet = open_incident(name="Quiet test", deliver_notifications=False)
    selection = {"action": "resolve_selected", "_selected_action": [loud.pk, quiet.pk]}
    page = staff_client.post(reverse(LIST), selection)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Loud outage" in html and "Quiet test" in html
    assert "No (opened quietly)" in html
    # The default choice and what it does: one of two notifies.
    assert re.search(r'value="notified_before"\s+checked', html)
    assert "1 of 2</strong> emails its subscribers" in html
    assert 'name="confirm"' in html
    assert Incident.objects.filter(Incident.open_filter()).count() == 2
    # Posting the action again without "confirm" still changes nothing.
    staff_client.post(reverse(LIST), {**selection, "notify": "all"})
    assert Incident.objects.filter(Incident.open_filter()).count() == 2
    assert IncidentUpdate.objects.count() == 2


def test_bulk_resolve_confirmed_notifies_only_as_chosen(staff_client, open_incident):
    loud = open_incident(name="Loud outage")
    quiet = open_incident(name="Quiet test", deliver_notifications=False)
    response = staff_client.post(
        reverse(LIST),
        {
            "action": "resolve_selected",
            "_selected_action": [loud.pk, quiet.pk],
            "notify": "notified_before",
            "body": "Both fixed.",
            "confirm": "Yes",
        },
    )
    assert response.status_code == 302
    closing = {
        u.incident.name: (u.deliver_notifications, u.body)
        for u in IncidentUpdate.objects.filter(status="resolved").select_related("incident")
    }
    assert closing == {"Loud outage": (True, "Both fixed."), "Quiet test": (False, "Both fixed.")}
    assert messages_of(response) == [("success", "Resolved 2 incidents.")]


def test_bulk_complete_maintenance_goes_through_the_same_page(staff_client, open_maintenance):
    maintenance = open_maintenance()
    url = reverse("admin:incidents_maintenance_changelist")
    selection = {"action": "complete_selected", "_selected_action": [maintenance.pk]}
    page = staff_client.post(url, selection)
    assert "Yes, complete 1" in page.content.decode()
    assert Incident.objects.get().status == "scheduled"
    staff_client.post(url, {**selection, "notify": "none", "confirm": "1"})
    update = Incident.objects.get().updates.first()
    assert (update.status, update.deliver_notifications) == ("completed", False)


# -- the list, reopening, templates ---------------------------------------------------------


def test_incident_list_opens_on_unresolved_incidents(staff_client, open_incident):
    open_incident(name="Still broken")
    services.resolve(open_incident(name="Fixed yesterday"))
    names = [i.name for i in staff_client.get(reverse(LIST)).context["cl"].result_list]
    assert names == ["Still broken"]
    everything = staff_client.get(reverse(LIST), {"state": "all"}).context["cl"].result_list
    assert {i.name for i in everything} == {"Still broken", "Fixed yesterday"}
    found = staff_client.get(reverse(LIST), {"q": "yesterday"}).context["cl"].result_list
    assert [i.name for i in found] == ["Fixed yesterday"]  # a search looks everywhere


def test_a_resolved_incident_offers_a_reopen_path(staff_client, open_incident, rest):
    incident = open_incident()
    services.resolve(incident)
    page = staff_client.get(post_url(incident)).content.decode()
    assert f'href="{post_url(incident)}?reopen=1#post-update"' in page
    reopen = staff_client.get(post_url(incident), {"reopen": "1"})
    assert "Reopen this incident" in reopen.content.decode()
    assert reopen.context["form"]["update_status"].value() == "investigating"
    response = staff_client.post(
        post_url(incident),
        form_data(
            incident,
            update_status="investigating",
            update_body="It is back.",
            **{f"component_{rest.code}": CS.MAJOR_OUTAGE},
        ),
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("investigating", None)
    assert Component.objects.get(pk=rest.pk).status == CS.MAJOR_OUTAGE


def test_templates_are_on_the_page_for_filling_in_place(staff_client, rest):
    template = IncidentTemplate.objects.create(
        name="API down",
        title="API outage",
        body="The API is down.",
        component_status="major_outage",
    )
    template.components.add(rest)
    page = staff_client.get(reverse("admin:incidents_incident_add")).content.decode()
    assert f'data-template="{template.pk}"' in page
    assert '<script id="incident-templates" type="application/json">' in page
    assert "The API is down." in page
    # No inline script or style: the page runs under a Content-Security-Policy.
    assert not re.search(r"<script(?![^>]*(\ssrc=|application/json))[^>]*>", page)
    assert "<style" not in page and ' style="' not in main_form(page)
