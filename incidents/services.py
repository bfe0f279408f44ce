"""The one place where incidents change. The admin, the API and the scheduler call these
functions; each runs in one transaction and either does everything or nothing.

A refusal is a ``ValidationError`` keyed by the argument it concerns (``status``, ``body``,
``components``, ``display_at``...), or a ``ConflictError`` when the incident's state forbids
the change; callers show it as it is (see docs/architecture.md, 'The update service').

One concern, kept in one module although it passes 400 lines: every rule about how an
incident may change, so that a reader finds all of them in one place.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from components.models import Component, ComponentStatusChange, Origin, page_key
from incidents.models import Incident, IncidentUpdate, Postmortem, StatusChangeCause
from incidents.signals import postmortem_published, update_posted
from statusportal import limits
from statusportal.errors import ConflictError

Status = Incident.Status
ComponentStatus = Component.Status

# How far in the future a display_at may be (clock skew between an alerting script and us).
DISPLAY_AT_FUTURE_TOLERANCE = timedelta(minutes=5)

IMPACT_OF_STATUS = {
    ComponentStatus.DEGRADED_PERFORMANCE: Incident.Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Incident.Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Incident.Impact.CRITICAL,
}

DEFAULT_RESOLVED_BODY = "This incident has been resolved."
DEFAULT_COMPLETED_BODY = "The scheduled maintenance has been completed."


# Component changes: a mapping of component (or its code) to the new status, or to None
# for "affected, status unchanged".
ComponentChanges = Mapping[Component | str, str | None]


def check_body(body: str | None) -> str:
    """The text of an update as stored (stripped); refused when empty. The rule "an update
    says something", shared by posting, opening and correcting, and by the console's forms
    so that they show it next to their other errors."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write a message for this update."}, code="required")
    limits.check_length("body", body, limits.MAX_UPDATE_BODY_LENGTH)
    return body


def _check_status(kind: str, status: str) -> Incident.Status:
    allowed = Incident.statuses_for(kind)
    if status not in allowed:
        names = ", ".join(s.value for s in allowed)
        noun = "maintenance" if kind == Incident.Kind.MAINTENANCE else "an incident"
        raise ValidationError(
            {"status": f"“{status}” is not a status for {noun}; use one of: {names}."},
            code="invalid_status",
        )
    return Status(status)


def _resolve_components(changes: ComponentChanges | None) -> dict[Component, str | None]:
    """Map codes to Component rows (locked for update) and check the statuses."""
    if not changes:
        return {}
    codes = [c.code if isinstance(c, Component) else str(c) for c in changes]
    found = {c.code: c for c in Component.objects.select_for_update().filter(code__in=codes)}
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise ValidationError(
            {"components": f"Unknown component code(s): {', '.join(unknown)}."},
            code="unknown_component",
        )
    resolved: dict[Component, str | None] = {}
    for key, status in changes.items():
        code = key.code if isinstance(key, Component) else str(key)
        if status not in (None, "") and status not in ComponentStatus.values:
            raise ValidationError(
                {
                    "components": f"“{status}” is not a component status; use one of: "
                    f"{', '.join(ComponentStatus.values)}."
                },
                code="invalid_component_status",
            )
        resolved[found[code]] = ComponentStatus(status) if status else None
    return resolved


def _check_instant(display_at: datetime, now: datetime) -> None:
    """Rule 1 of ``check_display_at``, for any ``display_at`` given: a time zone, not in
    the future (beyond a little clock skew), within the accepted range."""
    if timezone.is_naive(display_at):
        raise ValidationError({"display_at": "Give a time zone with the time."}, code="naive")
    if display_at > now + DISPLAY_AT_FUTURE_TOLERANCE:
        raise ValidationError(
            {"display_at": "An update cannot be dated in the future."}, code="future"
        )
    limits.check_time("display_at", display_at, now=now)


def check_display_at(
    display_at: datetime | None, now: datetime, *, incident: Incident | None = None
) -> datetime:
    """The time rules of an update's ``display_at`` (see docs/architecture.md, 'The update
    service'); returns the time to store (``now`` when none is given).

    1. it carries a time zone and is not in the future (beyond a little clock skew);
    2. on an existing ``incident``, it is not before the incident started (an incident's
       start is its first update; a maintenance's is when it actually started) nor before
       its latest update, so the timeline, the latest update and the timestamps stay in
       order. A whole past incident is written by ``incidents.backfill`` instead.
    """
    if display_at is None:
        return now
    _check_instant(display_at, now)
    if incident is None:
        return display_at
    latest = incident.updates.aggregate(latest=Max("display_at"))["latest"]
    if latest is None:
        return display_at  # the first update: it sets the start
    started = incident.started_at if not incident.is_maintenance else None
    if started is not None and display_at < started:
        raise ValidationError(
            {
                "display_at": "An update cannot be dated before the incident started "
                f"({_local(started)}). To record a past incident, backfill it."
            },
            code="before_start",
        )
    if display_at < latest:
        raise ValidationError(
            {
                "display_at": "An update cannot be dated before the previous update "
                f"({_local(latest)})."
            },
            code="before_previous_update",
        )
    return display_at


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"


def _history_time(component: Component, display_at: datetime, now: datetime) -> datetime:
    """When a status change caused by an update is recorded: at the update's time, but
    never before the component's latest recorded change nor after now, so that each
    component's history stays in order whichever path wrote the rows before or writes the
    next (a manual change is recorded at "now")."""
    latest = ComponentStatusChange.objects.filter(component=component).aggregate(latest=Max("at"))[
        "latest"
    ]
    at = min(display_at, now)
    return max(at, latest) if latest is not None else at


def claimed_status(component: Component, *, excluding: Incident | None = None) -> ComponentStatus:
    """The worst status that open incidents and active maintenance other than
    ``excluding`` still hold ``component`` at (operational when none does); monitoring
    returns a component through it when its alerts resolve.

    An open incident claims the last status one of its updates set for the component;
    an in-progress maintenance claims that or, failing it, "under maintenance".
    """
    claims = []
    others = component.incidents.filter(Incident.open_filter()).prefetch_related("updates")
    if excluding is not None:
        others = others.exclude(pk=excluding.pk)
    for other in others:
        if other.is_maintenance and other.status not in Incident.ACTIVE_MAINTENANCE_STATUSES:
            continue  # scheduled maintenance holds nothing yet
        claim = None
        for update in other.updates.all():  # newest first
            for entry in update.affected_components:
                if entry.get("code") == component.code:
                    claim = entry.get("new_status")
                    break
            if claim:
                break
        if claim is None and other.is_maintenance:
            claim = ComponentStatus.UNDER_MAINTENANCE
        if claim:
            claims.append(claim)
    return ComponentStatus.worst(claims)


def compute_impact(incident: Incident) -> Incident.Impact:
    """The impact shown for ``incident``: the override if set; "maintenance" for
    maintenance; otherwise from the worst component status any update set (it does not
    fall back when the incident resolves)."""
    if incident.impact_override:
        return Incident.Impact(incident.impact_override)
    if incident.is_maintenance:
        return Incident.Impact.MAINTENANCE
    statuses = [
        entry["new_status"]
        for affected in incident.updates.values_list("affected_components", flat=True)
        for entry in affected or ()
        if entry.get("new_status") in ComponentStatus.values
    ]
    worst = ComponentStatus.worst(statuses)
    return IMPACT_OF_STATUS.get(worst, Incident.Impact.NONE)


def check_schedule(
    scheduled_for: datetime, scheduled_until: datetime, remind_before: timedelta | None
) -> None:
    """A maintenance window: sane times (``statusportal.limits``), the end after the start,
    a bounded reminder."""
    limits.check_time("scheduled_for", scheduled_for)
    limits.check_time("scheduled_until", scheduled_until)
    if scheduled_until <= scheduled_for:
        raise ValidationError(
            {"scheduled_until": "The end must be after the start."}, code="invalid_window"
        )
    limits.check_duration("remind_before", remind_before)


def save_details(incident: Incident, fields: list[str]) -> None:
    """Save the incident's own fields (name, impact override, schedule) listed in
    ``fields``, recomputing the impact when its override changed. Status, timestamps and
    components move only through :func:`post_update`."""
    if "name" in fields:
        limits.check_length("name", incident.name, limits.MAX_NAME_LENGTH)
    if incident.is_maintenance and {"scheduled_for", "scheduled_until", "remind_before"} & set(
        fields
    ):
        if incident.scheduled_for is None or incident.scheduled_until is None:
            raise ValidationError(
                {"scheduled_for": "Maintenance needs a scheduled start and end."},
                code="required",
            )
        check_schedule(incident.scheduled_for, incident.scheduled_until, incident.remind_before)
    update_fields = [*fields, "updated_at"]
    if "impact_override" in fields:
        incident.impact = compute_impact(incident)
        update_fields.append("impact")
    incident.save(update_fields=update_fields)


@transaction.atomic
def post_update(
    incident: Incident,
    *,
    status: str,
    body: str,
    components: ComponentChanges | None = None,
    deliver_notifications: bool = True,
    display_at: datetime | None = None,
    author: User | None = None,
    origin: Origin | None = None,
) -> IncidentUpdate:
    """Post an update on ``incident``; everything below happens in one transaction:

    1. refuse what cannot be (a status of the other kind, an update on completed
       maintenance, an unknown component) before writing anything;
    2. write the IncidentUpdate;
    3. apply the given component statuses; when the update resolves/completes, return the
       other affected components to what open incidents still claim (the resolve rule);
       when maintenance starts, put its components under maintenance; each change writes
       a ComponentStatusChange, linked to the update by a StatusChangeCause and recording
       ``origin`` (by default the operator ``author``);
    4. move the incident's status and timestamps, recompute its impact;
    5. send ``update_posted`` (the outbox listens).
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    new_status = _check_status(incident.kind, status)
    if not incident.accepts_updates:
        raise ConflictError(
            {"status": "This maintenance is completed; it cannot take more updates."},
            code="maintenance_completed",
        )
    body = check_body(body)
    explicit = _resolve_components(components)
    now = timezone.now()
    display_at = check_display_at(display_at, now, incident=incident)

    update = IncidentUpdate.objects.create(
        incident=incident,
        status=new_status,
        body=body,
        display_at=display_at,
        deliver_notifications=deliver_notifications,
        author=author,
    )

    if explicit:
        incident.components.add(*explicit)
    targets: dict[Component, str | None] = dict(explicit)
    closing = new_status in Incident.CLOSED_STATUSES
    starting_maintenance = new_status in Incident.ACTIVE_MAINTENANCE_STATUSES
    if new_status == Status.SCHEDULED:
        # Planned, not applied: statuses chosen for a scheduled maintenance take effect
        # when it starts (see docs/architecture.md, 'The update service').
        incident.planned_statuses = {
            **incident.planned_statuses,
            **{c.code: str(target) for c, target in explicit.items() if target is not None},
        }
        targets = {}
    if closing or starting_maintenance:
        for component in incident.components.select_for_update().exclude(
            pk__in=[c.pk for c in explicit]
        ):
            targets[component] = None
        for component, target in targets.items():
            if target is not None:
                continue
            if closing:
                targets[component] = claimed_status(component, excluding=incident)
            else:
                targets[component] = ComponentStatus(
                    incident.planned_statuses.get(component.code, ComponentStatus.UNDER_MAINTENANCE)
                )
    if closing:
        incident.planned_statuses = {}

    affected, causes = [], []
    for component in sorted({*targets, *explicit}, key=page_key):
        target = targets.get(component)
        old = component.status
        change = (
            component.set_status(
                target,
                at=_history_time(component, display_at, now),
                origin=origin or Origin.operator(author),
            )
            if target is not None
            else None
        )
        if change is not None:
            causes.append(StatusChangeCause(status_change=change, incident_update=update))
        # A scheduled maintenance lists its components without changing them yet.
        if component in explicit or component.status != old:
            affected.append(
                {
                    "code": component.code,
                    "name": component.name,
                    "old_status": str(old),
                    "new_status": str(component.status),
                }
            )
    StatusChangeCause.objects.bulk_create(causes)
    update.affected_components = affected
    update.save(update_fields=["affected_components"])

    was_new = not incident.updates.exclude(pk=update.pk).exists()
    incident.status = new_status
    if was_new and not incident.is_maintenance:
        incident.started_at = display_at
    if starting_maintenance and incident.status != Status.VERIFYING:
        incident.started_at = display_at
    if new_status == Status.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = display_at
    incident.resolved_at = display_at if closing else None
    incident.impact = compute_impact(incident)
    incident.save()  # the whole row: status, timestamps, impact and planned statuses

    update_posted.send(sender=Incident, update=update, incident=incident)
    return update


def correct_body(update: IncidentUpdate, body: str) -> bool:
    """Replace the text of a posted update (a typo). Saves the body alone (its HTML is
    rendered again by ``IncidentUpdate.save``): no update is posted, nobody is notified
    again. Returns whether the text changed."""
    body = check_body(body)
    if body == update.body:
        return False
    update.body = body
    update.save(update_fields=["body", "updated_at"])
    return True


def correct_display_at(update: IncidentUpdate, display_at: datetime) -> bool:
    """Move a posted update on the timeline (a wrong back-dating). Nobody is notified
    again and no status moves; returns whether the time changed.

    The time rules of :func:`check_display_at` hold, with the update's own neighbours as
    bounds: not in the future, not before the update posted before it nor after the one
    posted after it, so the timeline keeps its order. The incident's timestamps follow:
    its start (the first update of an incident), when monitoring began and when it
    resolved, each the time of the update that set it.
    """
    now = timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=update.incident_id)
        update = IncidentUpdate.objects.select_for_update().get(pk=update.pk)
        _check_instant(display_at, now)
        if display_at == update.display_at:
            return False
        timeline = list(incident.updates.order_by("display_at", "pk"))
        index = next(i for i, u in enumerate(timeline) if u.pk == update.pk)
        before = timeline[index - 1] if index > 0 else None
        after = timeline[index + 1] if index + 1 < len(timeline) else None
        if before is not None and display_at < before.display_at:
            raise ValidationError(
                {
                    "display_at": "An update cannot be dated before the previous update "
                    f"({_local(before.display_at)})."
                },
                code="before_previous_update",
            )
        if after is not None and display_at > after.display_at:
            raise ValidationError(
                {
                    "display_at": "An update cannot be dated after the next update "
                    f"({_local(after.display_at)})."
                },
                code="after_next_update",
            )
        update.display_at = display_at
        update.save(update_fields=["display_at", "updated_at"])
        timeline[index] = update
        fields = ["updated_at"]
        if index == 0 and not incident.is_maintenance:
            incident.started_at = display_at
            fields.append("started_at")
        monitoring = [u for u in timeline if u.status == Status.MONITORING]
        if monitoring and incident.monitoring_at is not None:
            incident.monitoring_at = monitoring[0].display_at
            fields.append("monitoring_at")
        if incident.is_closed:
            incident.resolved_at = timeline[-1].display_at
            fields.append("resolved_at")
        incident.save(update_fields=fields)
    return True


@transaction.atomic
def delete_incident(incident: Incident) -> None:
    """Delete an incident (or maintenance) with its updates and postmortem: an operator
    removing one posted by mistake. The components' status history stays (uptime is the
    record of what happened), only its link to the deleted updates goes; the components
    keep their current statuses."""
    Incident.objects.filter(pk=incident.pk).delete()


@transaction.atomic
def open_incident(
    *,
    name: str,
    status: str,
    body: str,
    kind: str = Incident.Kind.INCIDENT,
    components: ComponentChanges | None = None,
    impact_override: str = "",
    deliver_notifications: bool = True,
    display_at: datetime | None = None,
    author: User | None = None,
    scheduled_for: datetime | None = None,
    scheduled_until: datetime | None = None,
    auto_start: bool = False,
    auto_complete: bool = False,
    remind_before: timedelta | None = None,
    origin: Origin | None = None,
) -> Incident:
    """Open an incident (or schedule maintenance) and post its first update."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the incident a name."}, code="required")
    limits.check_length("name", name, limits.MAX_NAME_LENGTH)
    if kind not in Incident.Kind.values:
        raise ValidationError({"kind": f"“{kind}” is not a kind."}, code="invalid")
    _check_status(kind, status)
    if impact_override and impact_override not in Incident.Impact.values:
        raise ValidationError(
            {"impact_override": f"“{impact_override}” is not an impact."}, code="invalid"
        )
    if kind == Incident.Kind.MAINTENANCE:
        if scheduled_for is None or scheduled_until is None:
            raise ValidationError(
                {"scheduled_for": "Maintenance needs a scheduled start and end."},
                code="required",
            )
        check_schedule(scheduled_for, scheduled_until, remind_before)
    started_at = check_display_at(display_at, timezone.now())
    if kind == Incident.Kind.MAINTENANCE and scheduled_for is not None:  # (checked above)
        started_at = scheduled_for  # until it actually starts
    incident = Incident.objects.create(
        name=name,
        kind=kind,
        status=status,
        impact_override=impact_override or "",
        started_at=started_at,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=auto_start,
        auto_complete=auto_complete,
        remind_before=remind_before,
    )
    post_update(
        incident,
        status=status,
        body=body,
        components=components,
        deliver_notifications=deliver_notifications,
        display_at=display_at,
        author=author,
        origin=origin,
    )
    incident.refresh_from_db()
    return incident


def resolve(
    incident: Incident,
    *,
    author: User | None = None,
    body: str = "",
    deliver_notifications: bool = True,
    origin: Origin | None = None,
) -> IncidentUpdate | None:
    """Post the closing update (resolved, or completed for maintenance). Returns the update,
    or None when the incident was already closed."""
    if incident.is_closed:
        return None
    if incident.is_maintenance:
        return post_update(
            incident,
            status=Status.COMPLETED,
            body=body or DEFAULT_COMPLETED_BODY,
            deliver_notifications=deliver_notifications,
            author=author,
            origin=origin,
        )
    return post_update(
        incident,
        status=Status.RESOLVED,
        body=body or DEFAULT_RESOLVED_BODY,
        deliver_notifications=deliver_notifications,
        author=author,
        origin=origin,
    )


class Notify(models.TextChoices):
    """Whom a bulk resolve (or complete) notifies."""

    NOTIFIED_BEFORE = "notified_before", "Only incidents whose subscribers were notified before"
    ALL = "all", "Subscribers of every incident"
    NONE = "none", "Nobody"


def resolve_notifies(incident: Incident, notify: str) -> bool:
    """Whether resolving ``incident`` in bulk with the ``notify`` choice emails its
    subscribers: an incident opened quietly is closed quietly unless asked otherwise."""
    if notify == Notify.ALL:
        return True
    if notify == Notify.NONE:
        return False
    return incident.updates.filter(deliver_notifications=True).exists()


@transaction.atomic
def resolve_many(
    incidents: Iterable[Incident],
    *,
    notify: str = Notify.NOTIFIED_BEFORE,
    body: str = "",
    author: User | None = None,
    origin: Origin | None = None,
) -> int:
    """Resolve (or complete) each open incident with ``body`` (the default closing text
    when empty), notifying as ``notify`` says; returns how many were closed. All or
    nothing."""
    if notify not in Notify.values:
        raise ValidationError({"notify": f"“{notify}” is not a notify choice."}, code="invalid")
    return sum(
        1
        for incident in incidents
        if resolve(
            incident,
            body=body,
            author=author,
            origin=origin,
            deliver_notifications=resolve_notifies(incident, notify),
        )
        is not None
    )


@transaction.atomic
def save_postmortem_draft(
    incident: Incident, *, body: str, author: User | None = None
) -> Postmortem:
    """Create or replace the postmortem's text. A published one stays published."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write the postmortem first."}, code="required")
    limits.check_length("body", body, limits.MAX_POSTMORTEM_LENGTH)
    postmortem, _ = Postmortem.objects.select_for_update().get_or_create(
        incident=incident, defaults={"body": body, "author": author}
    )
    postmortem.body = body
    postmortem.author = postmortem.author or author
    postmortem.save(update_fields=["body", "author", "updated_at"])
    return postmortem


@transaction.atomic
def publish_postmortem(
    incident: Incident, *, notify: bool = False, author: User | None = None
) -> Postmortem:
    """Publish the incident's draft postmortem, optionally emailing subscribers."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    try:
        postmortem = Postmortem.objects.select_for_update().get(incident=incident)
    except Postmortem.DoesNotExist:
        raise ValidationError(
            {"body": "Write a draft before publishing."}, code="no_draft"
        ) from None
    if not incident.is_closed:
        raise ConflictError(
            {"incident": "Resolve the incident before publishing its postmortem."},
            code="unresolved",
        )
    if postmortem.is_published:
        raise ConflictError(
            {"published_at": "This postmortem is already published."}, code="published"
        )
    postmortem.published_at = timezone.now()
    postmortem.notify_subscribers = notify
    postmortem.author = postmortem.author or author
    postmortem.save(update_fields=["published_at", "notify_subscribers", "author", "updated_at"])
    incident.save(update_fields=["updated_at"])
    postmortem_published.send(sender=Postmortem, postmortem=postmortem, notify=notify)
    return postmortem


@transaction.atomic
def revert_postmortem(incident: Incident) -> Postmortem:
    """Take a published postmortem back to a draft (its text kept): readers no longer
    see it. Refused when there is no published postmortem."""
    try:
        postmortem = Postmortem.objects.select_for_update().get(incident=incident)
    except Postmortem.DoesNotExist:
        raise ValidationError(
            {"body": "This incident has no postmortem."}, code="no_postmortem"
        ) from None
    if not postmortem.is_published:
        raise ConflictError({"published_at": "This postmortem is a draft already."}, code="draft")
    postmortem.published_at = None
    postmortem.save(update_fields=["published_at", "updated_at"])
    incident.save(update_fields=["updated_at"])
    return postmortem


@transaction.atomic
def delete_postmortem(incident: Incident) -> bool:
    """Delete the incident's postmortem, draft or published. Returns whether there was
    one."""
    deleted, _ = Postmortem.objects.filter(incident=incident).delete()
    if deleted:
        incident.save(update_fields=["updated_at"])
    return bool(deleted)
