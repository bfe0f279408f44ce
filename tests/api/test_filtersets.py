"""The API's FilterSets on their own: each filter narrows the list as its label says."""

from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from components.api.filtersets import ComponentFilterSet, ComponentGroupFilterSet
from components.models import Component, ComponentGroup
from incidents import services
from incidents.api.filtersets import IncidentFilterSet
from incidents.models import Incident
from subscriptions.api.filtersets import SubscriberFilterSet
from subscriptions.models import Subscriber

# Which filters each test exercises, for the guard at the end of this module: a filter
# added to a FilterSet without a test here fails the suite (as NetBox's filter tests do).
COVERED: dict[type, set[str]] = {}


def covers(filterset_class: type, *names: str):
    """Mark a test as the one that shows ``names`` of ``filterset_class`` narrowing a list."""

    def mark(test):
        COVERED.setdefault(filterset_class, set()).update(names)
        return test

    return mark


def codes(filterset) -> set[str]:
    assert filterset.is_valid(), filterset.errors
    return {obj.code for obj in filterset.qs}


@pytest.fixture
def history(rest, graphql, website, open_incident, open_maintenance):
    """Four incidents and one maintenance spread over a month."""
    now = timezone.now()
    old = open_incident(
        name="Old database outage",
        components={website.code: Component.Status.PARTIAL_OUTAGE},
        display_at=now - timedelta(days=30),
        body="The primary database was unreachable.",
    )
    services.post_update(old, status="resolved", body="Fixed.", display_at=now - timedelta(days=29))
    services.save_postmortem_draft(old, body="What happened.")
    services.publish_postmortem(old)
    week = open_incident(
        name="Slow GraphQL",
        components={graphql.code: "degraded_performance"},
        display_at=now - timedelta(days=7),
    )
    services.resolve(week)
    current = open_incident(name="REST errors", status="identified")
    quiet = open_incident(name="Nothing visible", components={})
    maintenance = open_maintenance(
        name="Upgrade",
        body="We will upgrade the cluster.",
        scheduled_for=now + timedelta(days=1),
    )
    return {"old": old, "week": week, "current": current, "quiet": quiet, "maint": maintenance}


def incident_codes(history, *names) -> set[str]:
    return {history[n].code for n in names}


def run(data):
    return codes(IncidentFilterSet(data, queryset=Incident.objects.all()))


@covers(IncidentFilterSet, "status")
def test_status_filter_takes_several_values(history):
    assert run({"status": ["identified", "scheduled"]}) == incident_codes(
        history, "current", "maint"
    )


@covers(IncidentFilterSet, "impact")
def test_impact_filter_takes_several_values(history):
    got = run({"impact": ["critical", "major"]})
    assert got == incident_codes(history, "old", "current")


@covers(IncidentFilterSet, "kind")
def test_kind_filter(history):
    assert run({"kind": "maintenance"}) == incident_codes(history, "maint")


@covers(IncidentFilterSet, "component")
def test_component_filter_by_code_any_of_several(history, graphql, website):
    got = run({"component": [graphql.code, website.code]})
    assert got == incident_codes(history, "old", "week")


@covers(IncidentFilterSet, "group")
def test_group_filter_matches_incidents_of_its_components_once(history, api_group):
    # "week" (GraphQL), "current" and the maintenance (REST) are in the API group.
    assert run({"group": [api_group.code]}) == incident_codes(history, "week", "current", "maint")
    assert IncidentFilterSet({"group": [api_group.code]}, Incident.objects.all()).qs.count() == 3


def test_incident_filters_never_sort_the_whole_history(history, graphql, website, api_group):
    """No incident filter asks for DISTINCT: with it, PostgreSQL sorts every matching
    incident of the history before the newest-first page can stop early, and a history
    read slows down as the history grows. Each filter still lists an incident once."""
    data = {
        "status": ["resolved", "investigating", "identified"],
        "impact": ["none", "minor", "major", "critical"],
        "component": [graphql.code, website.code],
        "group": [api_group.code],
    }
    filterset = IncidentFilterSet(data, queryset=Incident.objects.all())
    assert filterset.is_valid(), filterset.errors
    sql = str(filterset.qs.query)
    assert "DISTINCT" not in sql.upper()
    listed = [incident.code for incident in filterset.qs]
    assert len(listed) == len(set(listed))


def test_unknown_component_code_is_an_error_not_an_empty_list(history):
    filterset = IncidentFilterSet({"component": ["nosuchcode00"]}, queryset=Incident.objects.all())
    assert not filterset.is_valid()
    assert "component" in filterset.errors


@covers(IncidentFilterSet, "started_after", "started_before")
def test_started_window(history):
    now = timezone.now()
    got = run(
        {
            "started_after": (now - timedelta(days=10)).isoformat(),
            "started_before": (now - timedelta(days=1)).isoformat(),
        }
    )
    assert got == incident_codes(history, "week")


@covers(IncidentFilterSet, "resolved_after", "resolved_before")
def test_resolved_window(history):
    now = timezone.now()
    assert run({"resolved_before": (now - timedelta(days=20)).isoformat()}) == incident_codes(
        history, "old"
    )
    assert run({"resolved_after": (now - timedelta(days=20)).isoformat()}) == incident_codes(
        history, "week"
    )


@covers(IncidentFilterSet, "unresolved")
def test_unresolved(history):
    assert run({"unresolved": "true"}) == incident_codes(history, "current", "quiet", "maint")
    assert run({"unresolved": "false"}) == incident_codes(history, "old", "week")


@covers(IncidentFilterSet, "has_postmortem")
def test_has_postmortem_counts_only_published_ones(history):
    services.save_postmortem_draft(history["week"], body="Draft only.")
    assert run({"has_postmortem": "true"}) == incident_codes(history, "old")
    assert history["week"].code in run({"has_postmortem": "false"})


@covers(IncidentFilterSet, "q")
def test_text_search_in_name_and_update_bodies_once_per_incident(history):
    services.post_update(history["current"], status="identified", body="The database again.")
    services.post_update(history["current"], status="identified", body="Database fixed soon.")
    got = IncidentFilterSet({"q": "database"}, queryset=Incident.objects.all()).qs
    assert sorted(i.code for i in got) == sorted(incident_codes(history, "old", "current"))
    assert run({"q": "graphql"}) == incident_codes(history, "week")


def test_invalid_enum_value_is_an_error(history):
    filterset = IncidentFilterSet({"status": ["on_fire"]}, queryset=Incident.objects.all())
    assert not filterset.is_valid()


@covers(ComponentFilterSet, "status", "group", "ungrouped", "q")
def test_component_filterset_status_and_group(rest, graphql, website, api_group):
    rest.set_status("major_outage")
    qs = Component.objects.all()
    assert codes(ComponentFilterSet({"status": ["major_outage"]}, qs)) == {rest.code}
    assert codes(ComponentFilterSet({"group": [api_group.code]}, qs)) == {rest.code, graphql.code}
    assert codes(ComponentFilterSet({"ungrouped": "true"}, qs)) == {website.code}
    assert codes(ComponentFilterSet({"q": "graph"}, qs)) == {graphql.code}


@covers(ComponentFilterSet, "showcase")
def test_component_filterset_showcase(rest, graphql, website):
    Component.objects.filter(pk=graphql.pk).update(showcase=False)
    qs = Component.objects.all()
    assert codes(ComponentFilterSet({"showcase": "false"}, qs)) == {graphql.code}
    assert codes(ComponentFilterSet({"showcase": "true"}, qs)) == {rest.code, website.code}


@covers(ComponentGroupFilterSet, "q")
def test_group_filterset_name_contains(api_group):
    other = ComponentGroup.objects.create(name="Web", position=2)
    qs = ComponentGroup.objects.all()
    assert codes(ComponentGroupFilterSet({"q": "ap"}, qs)) == {api_group.code}
    assert codes(ComponentGroupFilterSet({"q": "WE"}, qs)) == {other.code}


@pytest.fixture
def subscribers(db):
    return {
        state: Subscriber.objects.create(email=f"{state}@{state}.example.com", state=state)
        for state in Subscriber.State.values
    }


@covers(SubscriberFilterSet, "state", "email")
def test_subscriber_filterset_state_and_email(subscribers):
    qs = Subscriber.objects.all()
    got = codes(SubscriberFilterSet({"state": ["active", "quarantined"]}, qs))
    assert got == {subscribers["active"].code, subscribers["quarantined"].code}
    got = codes(SubscriberFilterSet({"email": "UNSUBSCRIBED.example"}, qs))
    assert got == {subscribers["unsubscribed"].code}


@covers(SubscriberFilterSet, "channel", "q")
def test_subscriber_filterset_channel_and_search(subscribers):
    hook = Subscriber.objects.create(
        channel="webhook", endpoint="https://hooks.example.net/status", email="ops@example.org"
    )
    slack = Subscriber.objects.create(channel="slack", endpoint="https://hooks.slack.com/x")
    qs = Subscriber.objects.all()
    assert codes(SubscriberFilterSet({"channel": ["webhook", "slack"]}, qs)) == {
        hook.code,
        slack.code,
    }
    assert len(codes(SubscriberFilterSet({"channel": ["email"]}, qs))) == len(subscribers)
    assert codes(SubscriberFilterSet({"q": "HOOKS.example"}, qs)) == {hook.code}
    assert codes(SubscriberFilterSet({"q": "ops@example.org"}, qs)) == {hook.code}
    assert codes(SubscriberFilterSet({"q": "active@active"}, qs)) == {subscribers["active"].code}


def all_filtersets(patterns=None) -> set[type]:
    """The FilterSet of every view the URL map routes to."""
    found: set[type] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found |= all_filtersets(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            filterset = getattr(view_class, "filterset_class", None)
            if filterset is not None:
                found.add(filterset)
    return found


def test_every_filter_of_every_filterset_has_a_test():
    """The guard: each filter the API offers is shown to work by a test above."""
    filtersets = all_filtersets()
    assert {ComponentFilterSet, IncidentFilterSet, SubscriberFilterSet} <= set(filtersets)
    missing = {
        f"{filterset.__name__}.{name}"
        for filterset in filtersets
        for name in filterset.base_filters
        if name not in COVERED.get(filterset, set())
    }
    assert not missing, f"filters without a test in {__name__}: {sorted(missing)}"
