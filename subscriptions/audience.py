"""Who hears about an event: the one rule, used by the fan-out (and its tests)."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from components.models import Component
from subscriptions.models import NotificationEvent, Subscriber


def event_component_ids(event: NotificationEvent) -> set[int]:
    """Components an event concerns: the incident's, plus any its update changed (for a
    status change: its component)."""
    if event.status_change_id is not None:
        return {event.status_change.component_id}  # type: ignore[union-attr]
    assert event.incident is not None  # (every other event is about an incident)
    ids = set(event.incident.components.values_list("pk", flat=True))
    if event.update is not None:  # (no query without an update_id)
        codes = [e.get("code") for e in event.update.affected_components or () if e.get("code")]
        if codes:
            ids |= set(Component.objects.filter(code__in=codes).values_list("pk", flat=True))
    return ids


def recipients(event: NotificationEvent) -> QuerySet[Subscriber]:
    """Who receives ``event``: active subscribers who follow everything, or any of its
    components (directly or through their group), or its incident. Nobody for an update
    posted with notifications off or a postmortem published without notify. A component's
    status change goes to webhook subscribers only (Statuspage's component updates; the
    other channels hear of it through the incident's updates).

    Written with EXISTS subqueries (no joins), so it needs no DISTINCT and pages by
    primary key cheaply.
    """
    if event.kind == NotificationEvent.Kind.UPDATE and not (
        event.update and event.update.deliver_notifications
    ):
        return Subscriber.objects.none()
    if event.kind == NotificationEvent.Kind.POSTMORTEM and not (
        event.postmortem and event.postmortem.notify_subscribers
    ):
        return Subscriber.objects.none()
    component_ids = event_component_ids(event)
    group_ids = set(
        Component.objects.filter(pk__in=component_ids, group__isnull=False).values_list(
            "group_id", flat=True
        )
    )
    through_c = Subscriber.components.through.objects
    through_g = Subscriber.groups.through.objects
    through_i = Subscriber.incidents.through.objects
    active = Subscriber.objects.filter(state=Subscriber.State.ACTIVE)
    if event.kind == NotificationEvent.Kind.COMPONENT:
        return active.filter(channel=Subscriber.Channel.WEBHOOK).filter(
            Q(all_components=True)
            | Exists(through_c.filter(subscriber=OuterRef("pk"), component_id__in=component_ids))
            | Exists(through_g.filter(subscriber=OuterRef("pk"), componentgroup_id__in=group_ids))
        )
    return active.filter(
        Q(all_components=True)
        | Exists(through_c.filter(subscriber=OuterRef("pk"), component_id__in=component_ids))
        | Exists(through_g.filter(subscriber=OuterRef("pk"), componentgroup_id__in=group_ids))
        | Exists(through_i.filter(subscriber=OuterRef("pk"), incident_id=event.incident_id or 0))
    )
