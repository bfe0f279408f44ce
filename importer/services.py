"""The importer's writes: each imported object in one transaction, with its mapping row
(``ImportedObject``), so that an object is either wholly imported or not at all (see
docs/architecture.md, "Importing from Statuspage").

What has a home elsewhere is done there: a component's status moves with
``Component.set_status``, subscribers are added by ``subscriptions.services`` (active,
without a confirmation email), impact rules live in ``incidents.services``. What is
special to importing lives here: writing a record under the source's id with its own
timestamps, and the history rows rebuilt from the updates' affected components. Nothing
here sends ``update_posted`` or ``postmortem_published``, so no notification event is
recorded and nobody is emailed.

One concern, kept in one module although it passes 400 lines: how each kind of Statuspage
object is written here (components, incidents and their updates, maintenance,
postmortems, subscribers), each beside the mapping rule it shares with the others.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from components.models import (
    ChangeSource,
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Origin,
)
from importer.models import ImportedObject
from importer.records import (
    ComponentRecord,
    GroupRecord,
    IncidentRecord,
    PostmortemRecord,
    SubscriberRecord,
    TemplateRecord,
    UpdateRecord,
    fits_code,
)
from incidents.models import (
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Postmortem,
    StatusChangeCause,
)
from statusportal import revision
from statusportal.models import Revision
from subscriptions import services as subscriptions
from subscriptions.models import Subscriber

Kind = ImportedObject.Kind


class Conflict(Exception):
    """The object exists here but was not imported from this source: left alone."""


@dataclass(frozen=True)
class Source:
    """The page being imported: ``label`` (its URL) is the mapping's ``source`` and the
    actor of every history row the import writes."""

    label: str

    @property
    def origin(self) -> Origin:
        return Origin(ChangeSource.IMPORT, actor=self.label)


def mappings(source: Source, kind: str) -> dict[str, ImportedObject]:
    """What ``source`` imported of ``kind`` before, by remote id."""
    rows = ImportedObject.objects.filter(source=source.label, kind=kind)
    return {row.remote_id: row for row in rows}


def codes_in_use(model: type[models.Model], codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` local rows of ``model`` hold: one query for a page of records,
    instead of one per record (``taken`` of the functions below)."""
    return set(model._default_manager.filter(code__in=list(codes)).values_list("code", flat=True))


def _code_for(
    model: type[models.Model], remote_id: str, taken: Collection[str] | None = None
) -> str | None:
    """The code a new object takes: the source's id when it fits our codes, else None (a
    new random code). Refused when a local object not imported already holds it
    (``taken``: the codes known to be in use, else the database is asked)."""
    if not fits_code(remote_id):
        return None
    in_use = (
        remote_id in taken
        if taken is not None
        else model._default_manager.filter(code=remote_id).exists()
    )
    if in_use:
        raise Conflict(f"a local {model._meta.verbose_name} not imported has the code {remote_id}")
    return remote_id


def _local(model: type[Any], mapping: ImportedObject | None) -> Any:
    if mapping is None:
        return None
    return model._default_manager.filter(pk=mapping.local_id).first()


def _assign(obj: models.Model, values: Mapping[str, Any]) -> list[str]:
    """Set ``values`` on ``obj``; the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _remember(
    source: Source,
    kind: str,
    remote_id: str,
    obj: Any,
    fingerprint: str,
    *,
    children: list[str] | None = None,
) -> None:
    values = {
        "local_id": obj.pk,
        "code": getattr(obj, "code", ""),
        "fingerprint": fingerprint,
        "children": children or [],
    }
    known = ImportedObject.objects.filter(source=source.label, kind=kind, remote_id=remote_id)
    if not known.update(**values, updated_at=timezone.now()):
        ImportedObject.objects.create(source=source.label, kind=kind, remote_id=remote_id, **values)


def _keep_times(
    model: type[models.Model], pk: int, created_at: datetime | None, updated_at: datetime | None
) -> None:
    """Give a written row the source's timestamps (``auto_now`` would say "now")."""
    times = {
        name: value
        for name, value in (("created_at", created_at), ("updated_at", updated_at))
        if value is not None
    }
    if times:
        model._default_manager.filter(pk=pk).update(**times)


# --- Components -----------------------------------------------------------------------


@transaction.atomic
def import_group(
    record: GroupRecord, fingerprint: str, source: Source, mapping: ImportedObject | None
) -> tuple[ComponentGroup, bool]:
    """Create or update the group; returns it and whether it was created."""
    group = _local(ComponentGroup, mapping)
    created = group is None
    if group is None:
        code = _code_for(ComponentGroup, record.id)
        group = ComponentGroup(**({"code": code} if code else {}))
    _assign(
        group,
        {"name": record.name, "description": record.description, "position": record.position},
    )
    group.save()
    _keep_times(ComponentGroup, group.pk, record.created_at if created else None, record.updated_at)
    _remember(source, Kind.COMPONENT_GROUP, record.id, group, fingerprint)
    return group, created


@transaction.atomic
def import_component(
    record: ComponentRecord,
    fingerprint: str,
    source: Source,
    mapping: ImportedObject | None,
    group: ComponentGroup | None,
) -> tuple[Component, bool]:
    """Create or update the component in ``group``. A new component's first history row
    is dated at its creation at the source; a changed status moves through
    ``set_status``. ``rebuild_history`` then puts the rows in their place."""
    component = _local(Component, mapping)
    created = component is None
    if component is None:
        code = _code_for(Component, record.id)
        component = Component(**({"code": code} if code else {}))
    _assign(
        component,
        {
            "name": record.name,
            "description": record.description,
            "group": group,
            "position": record.position,
            "showcase": record.showcase,
            "only_show_if_degraded": record.only_show_if_degraded,
            "start_date": record.start_date,
        },
    )
    if created:
        component.set_status(record.status, at=record.created_at, origin=source.origin)
    else:
        component.save()
        component.set_status(record.status, origin=source.origin)
    _keep_times(Component, component.pk, record.created_at if created else None, record.updated_at)
    _remember(source, Kind.COMPONENT, record.id, component, fingerprint)
    return component, created


# --- Templates ------------------------------------------------------------------------


@transaction.atomic
def import_template(
    record: TemplateRecord,
    fingerprint: str,
    source: Source,
    mapping: ImportedObject | None,
    components: Mapping[str, Component],
) -> tuple[IncidentTemplate, bool]:
    template = _local(IncidentTemplate, mapping)
    created = template is None
    if template is None:
        if IncidentTemplate.objects.filter(name=record.name).exists():
            raise Conflict(f"a template named “{record.name}” exists already")
        code = _code_for(IncidentTemplate, record.id)
        template = IncidentTemplate(**({"code": code} if code else {}))
    _assign(
        template,
        {
            "name": record.name,
            "title": record.title,
            "body": record.body,
            "status": record.status,
        },
    )
    template.save()
    template.components.set([components[c] for c in record.component_ids if c in components])
    _remember(source, Kind.TEMPLATE, record.id, template, fingerprint)
    return template, created


# --- Incidents ------------------------------------------------------------------------


def _affected(
    record_affected: list[dict[str, Any]], codes: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The update's affected components under our codes (an id that did not fit our codes
    was given a new one; a component the source no longer has keeps its id)."""
    return [
        {
            "code": codes.get(entry["code"], entry["code"]),
            "name": entry["name"],
            "old_status": entry["old_status"],
            "new_status": entry["new_status"],
        }
        for entry in record_affected
    ]


def _incident_fields(record: IncidentRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "kind": record.kind,
        "status": record.status,
        "impact": record.impact,
        "impact_override": record.impact_override,
        "started_at": record.started_at,
        "monitoring_at": record.monitoring_at,
        "resolved_at": record.resolved_at,
        "scheduled_for": record.scheduled_for,
        "scheduled_until": record.scheduled_until,
        "auto_start": record.auto_start,
        "auto_complete": record.auto_complete,
        "remind_before": record.remind_before,
        "reminded_at": record.reminded_at,
    }


def _update_fields(update: UpdateRecord, codes: Mapping[str, str]) -> dict[str, Any]:
    return {
        "status": update.status,
        "body": update.body,
        "display_at": update.display_at,
        "deliver_notifications": update.deliver_notifications,
        "affected_components": _affected(update.affected, codes),
    }


def _chosen_components(
    record: IncidentRecord, components: Mapping[str, Component]
) -> list[Component]:
    """The incident's components: those it lists and those its updates affected."""
    affected = [str(e["code"]) for u in record.updates for e in u.affected]
    wanted = dict.fromkeys([*record.component_ids, *affected])
    return [components[c] for c in wanted if c in components]


def _write_times(model: type[models.Model], times: list[tuple[int, datetime, datetime]]) -> None:
    """Give written rows the source's ``created_at`` and ``updated_at`` ((pk, created,
    updated) each): save and bulk_create let auto_now and auto_now_add replace them with
    "now". On PostgreSQL one UPDATE from a VALUES list (Django's bulk_update builds a
    CASE per row, and costs more than the import of the rows themselves)."""
    if not times:
        return
    if connection.vendor != "postgresql":
        objs = [
            model(pk=pk, created_at=created, updated_at=updated) for pk, created, updated in times
        ]
        model._default_manager.bulk_update(objs, ["created_at", "updated_at"])
        return
    table = connection.ops.quote_name(model._meta.db_table)
    values = ", ".join(["(%s, %s::timestamptz, %s::timestamptz)"] * len(times))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET created_at = v.created, updated_at = v.updated "
            f"FROM (VALUES {values}) AS v(id, created, updated) WHERE t.id = v.id",
            [value for row in times for value in row],
        )


def _set_update_times(pairs: Iterable[tuple[IncidentUpdate, UpdateRecord]]) -> None:
    """The source's times on written updates."""
    times = []
    for update, record in pairs:
        created = record.created_at or record.display_at
        times.append((update.pk, created, record.updated_at or created))
    _write_times(IncidentUpdate, times)


@transaction.atomic
def import_new_incidents(
    items: list[tuple[IncidentRecord, str]],
    source: Source,
    components: Mapping[str, Component],
    *,
    taken: Collection[str] | None = None,
    taken_updates: Collection[str] | None = None,
) -> list[Incident]:
    """Create incidents this source has not imported yet, with all their updates and
    postmortems, as the source recorded them (their times, statuses and texts), without
    posting anything: no ``update_posted``, so no notification is recorded.

    ``items`` are (record, fingerprint); ``components`` maps the source's component ids
    to the imported components; ``taken`` and ``taken_updates`` are the incident and
    update codes known to be in use (``codes_in_use``; asked here when not given). All
    of them in one transaction, with a few statements whatever their number (a page of
    the source's list): a ``Conflict`` refuses them all, and the caller then imports
    them one by one to tell which one it was.
    """
    if taken is None:
        taken = codes_in_use(Incident, [r.id for r, _ in items])
    if taken_updates is None:
        taken_updates = codes_in_use(IncidentUpdate, [u.id for r, _ in items for u in r.updates])
    codes = {remote: c.code for remote, c in components.items()}
    incidents = []
    for record, _ in items:
        code = _code_for(Incident, record.id, taken)
        incidents.append(Incident(**({"code": code} if code else {}), **_incident_fields(record)))
        for planned in record.updates:
            if planned.id in taken_updates:
                raise Conflict(f"a local incident update not imported has the code {planned.id}")
    Incident.objects.bulk_create(incidents)
    Incident.components.through.objects.bulk_create(
        Incident.components.through(incident=incident, component=component)
        for incident, (record, _) in zip(incidents, items, strict=True)
        for component in _chosen_components(record, components)
    )
    pairs = []
    for incident, (record, _) in zip(incidents, items, strict=True):
        for update_record in record.updates:
            code = update_record.id if fits_code(update_record.id) else None
            update = IncidentUpdate(
                incident=incident,
                **({"code": code} if code else {}),
                **_update_fields(update_record, codes),
            )
            update.render_body()  # what save() does; bulk_create does not call it
            pairs.append((update, update_record))
    IncidentUpdate.objects.bulk_create(update for update, _ in pairs)
    _set_update_times(pairs)
    _write_times(
        Incident,
        [
            (
                incident.pk,
                record.created_at or incident.created_at,
                record.updated_at or incident.updated_at,
            )
            for incident, (record, _) in zip(incidents, items, strict=True)
        ],
    )
    postmortems = [
        Postmortem(incident=incident, **_postmortem_fields(record.postmortem))
        for incident, (record, _) in zip(incidents, items, strict=True)
        if record.postmortem is not None
    ]
    for postmortem in postmortems:
        postmortem.render_body()  # what save() does; bulk_create does not call it
    Postmortem.objects.bulk_create(postmortems)
    ImportedObject.objects.bulk_create(
        ImportedObject(
            source=source.label,
            kind=Kind.INCIDENT,
            remote_id=record.id,
            local_id=incident.pk,
            code=incident.code,
            fingerprint=fingerprint,
            children=[u.code for u, r in pairs if u.incident_id == incident.pk],
        )
        for incident, (record, fingerprint) in zip(incidents, items, strict=True)
    )
    # bulk_create sends no post_save: the public pages' revision moves here.
    Revision.bump()
    revision.forget()
    return incidents


@transaction.atomic
def import_incident(
    record: IncidentRecord,
    fingerprint: str,
    source: Source,
    mapping: ImportedObject | None,
    components: Mapping[str, Component],
    *,
    taken: Collection[str] | None = None,
    taken_updates: Collection[str] | None = None,
) -> tuple[Incident, bool]:
    """Create (``import_new_incidents``) or update one incident with its updates and
    postmortem; returns it and whether it was created.

    Updating writes what changed: its fields, its components, its updates (those this
    source imported before and no longer has are deleted; updates posted here on an
    imported incident are kept), its postmortem. Nothing is posted or notified."""
    incident = _local(Incident, mapping)
    if incident is None:
        (incident,) = import_new_incidents(
            [(record, fingerprint)],
            source,
            components,
            taken=taken,
            taken_updates=taken_updates,
        )
        # The mapping of an object deleted here since is replaced.
        ImportedObject.objects.filter(
            source=source.label, kind=Kind.INCIDENT, remote_id=record.id
        ).exclude(local_id=incident.pk).delete()
        return incident, True
    assert mapping is not None
    _assign(incident, _incident_fields(record))
    incident.save()
    incident.components.set(_chosen_components(record, components))
    codes = {remote: c.code for remote, c in components.items()}
    existing = {u.code: u for u in incident.updates.all()}
    if taken_updates is None:
        taken_updates = codes_in_use(IncidentUpdate, [u.id for u in record.updates])
    pairs, fresh = [], []
    for update_record in record.updates:
        code = update_record.id if fits_code(update_record.id) else None
        update = existing.get(code) if code else None
        if update is None:
            if code and code in taken_updates:
                raise Conflict(f"a local incident update not imported has the code {code}")
            update = IncidentUpdate(incident=incident, **({"code": code} if code else {}))
            fresh.append(update)
        if _assign(update, _update_fields(update_record, codes)) and update not in fresh:
            update.save()
        pairs.append((update, update_record))
    for update in fresh:
        update.render_body()  # what save() does; bulk_create does not call it
    IncidentUpdate.objects.bulk_create(fresh)
    _set_update_times(pairs)
    kept = {u.code for u, _ in pairs}
    gone = [code for code in set(mapping.children) - kept if code in existing]
    if gone:
        incident.updates.filter(code__in=gone).delete()
    _import_postmortem(incident, record)
    _keep_times(Incident, incident.pk, None, record.updated_at)
    _remember(source, Kind.INCIDENT, record.id, incident, fingerprint, children=sorted(kept))
    return incident, False


def _postmortem_fields(wanted: PostmortemRecord) -> dict[str, Any]:
    return {
        "body": wanted.body,
        "published_at": wanted.published_at,
        "notify_subscribers": wanted.notify_subscribers,
        # Whatever the source sent was sent there: nothing is pending here.
        "notified_at": wanted.published_at if wanted.notify_subscribers else None,
    }


def _import_postmortem(incident: Incident, record: IncidentRecord) -> None:
    wanted = record.postmortem
    if wanted is None:
        return  # one written here since is not the import's to delete
    postmortem = Postmortem.objects.filter(incident=incident).first() or Postmortem(
        incident=incident
    )
    if _assign(postmortem, _postmortem_fields(wanted)) or postmortem.pk is None:
        postmortem.save()


# --- Status history -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    at: datetime
    old_status: str | None
    new_status: str
    update_id: int | None = None


def planned_history(
    created_at: datetime,
    current: str,
    entries: Iterable[Change],
    now: datetime,
    updated_at: datetime | None = None,
) -> list[Change]:
    """The history rows of an imported component, oldest first:

    1. its first status, dated at its creation: what the earliest update found it in,
       else its current status;
    2. one row for each update that moved it (``affected_components``), at the update's
       time; an entry that repeats the status it is in moves nothing;
    3. a last row to its current status if the updates do not end there (a change made
       outside any incident), dated when the component was last changed.
    """
    ordered = sorted(entries, key=lambda e: (e.at, e.update_id or 0))
    first = next((e.old_status for e in ordered if e.old_status), None) or current
    start = min([created_at, *(e.at for e in ordered)])
    plan = [Change(start, None, first)]
    status, last_at = first, start
    for entry in ordered:
        if entry.new_status == status:
            continue
        at = min(entry.at, now)
        plan.append(Change(at, status, entry.new_status, entry.update_id))
        status, last_at = entry.new_status, at
    if status != current:
        plan.append(Change(min(max(updated_at or now, last_at), now), status, current))
    return plan


def imported_changes(source: Source) -> dict[str, list[Change]]:
    """Every status change the imported updates made, by our component code."""
    children = {
        code
        for codes in ImportedObject.objects.filter(
            source=source.label, kind=Kind.INCIDENT
        ).values_list("children", flat=True)
        for code in codes
    }
    changes: dict[str, list[Change]] = defaultdict(list)
    updates = IncidentUpdate.objects.filter(code__in=children).values_list(
        "pk", "display_at", "affected_components"
    )
    for pk, display_at, affected in updates.iterator(chunk_size=2000):
        for entry in affected or ():
            if entry.get("new_status"):
                changes[entry["code"]].append(
                    Change(display_at, entry.get("old_status"), entry["new_status"], pk)
                )
    return changes


@transaction.atomic
def rebuild_history(
    component: Component, plan: list[Change], source: Source, *, write: bool = True
) -> tuple[int, int]:
    """Make the component's history rows written by ``source`` the ``plan``: rows already
    there are kept as they are, missing ones are added (linked to the update that caused
    them), others this import wrote are deleted. Rows written any other way are never
    touched. Returns (added, removed); without ``write`` (a dry run), what it would."""
    origin = source.origin
    rows = ComponentStatusChange.objects.select_for_update().filter(
        component=component, source=ChangeSource.IMPORT, actor=origin.actor
    )
    existing: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for pk, at, old, new in rows.values_list("pk", "at", "old_status", "new_status"):
        existing[(at, old, new)].append(pk)
    missing: list[Change] = []
    for change in plan:
        key = (change.at, change.old_status, change.new_status)
        if existing.get(key):
            existing[key].pop()
        else:
            missing.append(change)
    extra = [pk for pks in existing.values() for pk in pks]
    if not write:
        return len(missing), len(extra)
    if extra:
        ComponentStatusChange.objects.filter(pk__in=extra).delete()
    new_rows = ComponentStatusChange.objects.bulk_create(
        ComponentStatusChange(
            component=component,
            old_status=change.old_status,
            new_status=change.new_status,
            at=change.at,
            source=origin.source,
            actor=origin.actor,
        )
        for change in missing
    )
    StatusChangeCause.objects.bulk_create(
        StatusChangeCause(status_change=row, incident_update_id=change.update_id)
        for row, change in zip(new_rows, missing, strict=True)
        if change.update_id is not None
    )
    return len(missing), len(extra)


# --- Subscribers ----------------------------------------------------------------------


def _ours(source: Source, subscriber: Subscriber) -> bool:
    """Whether this source's import added ``subscriber``."""
    return ImportedObject.objects.filter(
        source=source.label,
        kind__in=[Kind.SUBSCRIBER, Kind.INCIDENT_SUBSCRIBER],
        local_id=subscriber.pk,
    ).exists()


@transaction.atomic
def import_subscriber(
    record: SubscriberRecord,
    fingerprint: str,
    source: Source,
    mapping: ImportedObject | None,
    components: Mapping[str, Component],
    *,
    everything: bool,
) -> tuple[Subscriber, bool]:
    """Add the address as an active subscriber without emailing it (it confirmed at the
    source), following the chosen components, or everything when ``everything``.

    An address this import did not add, or one that has since unsubscribed or been
    quarantined here, is left alone."""
    subscriber = _local(Subscriber, mapping)
    created = subscriber is None
    email = subscriptions.normalize_email(record.email)
    if subscriber is None:
        subscriber = Subscriber.objects.filter(email__iexact=email).first()
        if subscriber is not None and not _ours(source, subscriber):
            raise Conflict(f"{email} is subscribed here already")
    if subscriber is None:
        code = _code_for(Subscriber, record.id)
        # The row is made here to keep the source's id as its code; add_subscriber finds
        # it by address and applies the scope and the state.
        subscriber = Subscriber.objects.create(email=email, **({"code": code} if code else {}))
    elif not subscriber.is_active:
        # Unsubscribed or quarantined here since: the import does not undo that.
        raise Conflict(f"{subscriber.email} is {subscriber.get_state_display().lower()} here")
    scope = None if everything else [components[c] for c in record.component_ids if c in components]
    subscriber = subscriptions.add_subscriber(
        email, components=scope, confirmed=True, send_confirmation=False
    )
    _remember(source, Kind.SUBSCRIBER, record.id, subscriber, fingerprint)
    return subscriber, created


@transaction.atomic
def import_incident_subscriber(
    record: SubscriberRecord,
    fingerprint: str,
    source: Source,
    mapping: ImportedObject | None,
    remote_id: str,
    incident: Incident,
) -> tuple[Subscriber, bool]:
    """Make the address follow ``incident`` (active, not emailed). An address already
    here is added to it only if this import brought it."""
    email = subscriptions.normalize_email(record.email)
    existing = Subscriber.objects.filter(email__iexact=email).first()
    if existing is not None:
        if not _ours(source, existing):
            raise Conflict(f"{email} is subscribed here already")
        if not existing.is_active:
            raise Conflict(f"{email} is {existing.get_state_display().lower()} here")
    else:
        taken = Subscriber.objects.filter(code=record.id).exists()
        code = record.id if fits_code(record.id) and not taken else None
        Subscriber.objects.create(email=email, **({"code": code} if code else {}))
    subscriber = subscriptions.add_subscriber(
        email,
        # A new address follows only the incident; one imported before keeps its scope.
        components=None if existing is not None else [],
        incident=incident,
        confirmed=True,
        send_confirmation=False,
    )
    _remember(source, Kind.INCIDENT_SUBSCRIBER, remote_id, subscriber, fingerprint)
    return subscriber, mapping is None
