"""The manage API's records, read into what the importer writes: every field checked,
each refusal naming the object (see docs/architecture.md, "Importing from Statuspage").

Pure functions: nothing here touches the database, so ``--dry-run`` runs the same checks.

One concern, kept in one module although it passes 400 lines: reading the manage API's
records, one function per kind of object, all with the same checks and refusals.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field, is_dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from components.models import Component
from incidents.models import Incident
from incidents.services import DISPLAY_AT_FUTURE_TOLERANCE
from statusportal import limits
from statusportal.codes import CODE_LENGTH

# Our codes: 12 lowercase letters and digits (statusportal.codes). Statuspage's ids have
# the same shape; an id that does not fit gets a new code, and the summary says so.
CODE_RE = re.compile(rf"^[a-z0-9]{{{CODE_LENGTH}}}$")

# Statuspage reminds subscribers of a maintenance this long before it starts.
STATUSPAGE_REMINDER = timedelta(hours=1)

ComponentStatus = Component.Status


class RecordError(Exception):
    """A record the importer cannot take; the message names the object."""

    def __init__(self, kind: str, record: Any, message: str) -> None:
        self.kind = kind
        self.label = describe(kind, record)
        super().__init__(f"{self.label}: {message}")


def describe(kind: str, record: Any) -> str:
    """ "incident abc123def456 (“Database down”)": how messages name an object."""
    if not isinstance(record, dict):
        return f"{kind} (not an object)"
    ident = record.get("id") or "without an id"
    name = record.get("name") or record.get("email") or ""
    return f"{kind} {ident} (“{name}”)" if name else f"{kind} {ident}"


def fits_code(remote_id: str) -> bool:
    return bool(CODE_RE.match(remote_id))


def fingerprint(record: Any) -> str:
    """SHA-256 of a parsed record: what a later run compares to skip unchanged objects."""
    data = json.dumps(record, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _plain(value: Any) -> Any:
    # A record's fields as they are (dataclasses.asdict deep-copies every value first).
    if is_dataclass(value):
        return vars(value)
    return str(value)


def id_list(value: Any) -> list[str]:
    """A list of ids as the API gives it: a JSON array, or (as the OpenAPI description
    types a group's and a subscriber's ``components``) a string holding one."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("not a list of ids")
    return [str(item.get("id") if isinstance(item, dict) else item) for item in value]


class _Reader:
    """Reads the fields of one record; every error is a RecordError naming it."""

    def __init__(self, kind: str, record: Any) -> None:
        if not isinstance(record, dict):
            raise RecordError(kind, record, "is not a JSON object.")
        self.kind, self.record = kind, record

    def fail(self, message: str) -> RecordError:
        return RecordError(self.kind, self.record, message)

    def id(self) -> str:
        value = self.record.get("id")
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise self.fail("has no usable id.")
        return value

    def text(self, name: str, *, required: bool = False, maximum: int = 0) -> str:
        value = self.record.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise self.fail(f"“{name}” is not text.")
        value = value.strip()
        if required and not value:
            raise self.fail(f"has no “{name}”.")
        if maximum and len(value) > maximum:
            raise self.fail(f"“{name}” is longer than {maximum} characters.")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.record.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"“{name}” is not true or false.")
        return value

    def time(self, name: str, *, required: bool = False) -> datetime | None:
        value = self.record.get(name)
        if value in (None, ""):
            if required:
                raise self.fail(f"has no “{name}”.")
            return None
        if not isinstance(value, str):
            raise self.fail(f"“{name}” is not a time.")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(f"“{name}” is not an ISO-8601 time: {value!r}.") from None
        if timezone.is_naive(moment):
            raise self.fail(f"“{name}” has no time zone: {value!r}.")
        try:
            limits.check_time(name, moment)
        except ValidationError as exc:
            raise self.fail(" ".join(exc.messages)) from None
        return moment

    def day(self, name: str) -> date | None:
        value = self.record.get(name)
        if value in (None, ""):
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise self.fail(f"“{name}” is not a date: {value!r}.") from None

    def position(self) -> int | None:
        value = self.record.get("position")
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self.fail(f"“position” is not a number: {value!r}.") from None
        if number < 0:
            raise self.fail("“position” is negative.")
        return number

    def choice(self, name: str, allowed: list[str], *, default: str = "") -> str:
        value = self.record.get(name)
        if value in (None, ""):
            if default:
                return default
            raise self.fail(f"has no “{name}”.")
        if value not in allowed:
            raise self.fail(f"“{name}” {value!r} is not one of: {', '.join(allowed)}.")
        return str(value)

    def ids(self, name: str) -> list[str]:
        try:
            return id_list(self.record.get(name))
        except ValueError:
            raise self.fail(f"“{name}” is not a list of ids.") from None


@dataclass
class GroupRecord:
    id: str
    name: str
    description: str
    position: int | None
    component_ids: list[str]
    created_at: datetime | None
    updated_at: datetime | None


@dataclass
class ComponentRecord:
    id: str
    name: str
    description: str
    status: str
    position: int | None
    group_id: str | None
    showcase: bool
    only_show_if_degraded: bool
    start_date: date | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass
class TemplateRecord:
    id: str
    name: str
    title: str
    body: str
    status: str
    component_ids: list[str]


@dataclass
class UpdateRecord:
    id: str
    status: str
    body: str
    display_at: datetime
    deliver_notifications: bool
    affected: list[dict[str, str | None]]
    created_at: datetime | None
    updated_at: datetime | None


@dataclass
class PostmortemRecord:
    body: str
    published_at: datetime | None
    notify_subscribers: bool


@dataclass
class IncidentRecord:
    id: str
    name: str
    kind: str
    status: str
    impact: str
    impact_override: str
    created_at: datetime | None
    updated_at: datetime | None
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    auto_start: bool
    auto_complete: bool
    remind_before: timedelta | None
    reminded_at: datetime | None
    component_ids: list[str]
    updates: list[UpdateRecord]  # oldest first
    postmortem: PostmortemRecord | None = None

    @property
    def is_closed(self) -> bool:
        return self.status in Incident.CLOSED_STATUSES


@dataclass
class SubscriberRecord:
    id: str
    email: str
    component_ids: list[str] = field(default_factory=list)


def read_group(record: Any) -> GroupRecord:
    r = _Reader("component group", record)
    return GroupRecord(
        id=r.id(),
        name=r.text("name", required=True, maximum=limits.MAX_COMPONENT_NAME_LENGTH),
        description=r.text("description", maximum=limits.MAX_DESCRIPTION_LENGTH),
        position=r.position(),
        component_ids=r.ids("components"),
        created_at=r.time("created_at"),
        updated_at=r.time("updated_at"),
    )


def read_component(record: Any) -> ComponentRecord:
    r = _Reader("component", record)
    group_id = record.get("group_id") if isinstance(record, dict) else None
    return ComponentRecord(
        id=r.id(),
        name=r.text("name", required=True, maximum=limits.MAX_COMPONENT_NAME_LENGTH),
        description=r.text("description", maximum=limits.MAX_DESCRIPTION_LENGTH),
        status=r.choice("status", ComponentStatus.values, default=ComponentStatus.OPERATIONAL),
        position=r.position(),
        group_id=str(group_id) if group_id else None,
        showcase=r.flag("showcase", default=True),
        only_show_if_degraded=r.flag("only_show_if_degraded"),
        start_date=r.day("start_date"),
        created_at=r.time("created_at"),
        updated_at=r.time("updated_at"),
    )


def is_group_entry(record: Any) -> bool:
    """Whether a row of the components list is a group (Statuspage lists groups there too,
    with ``group: true``); the importer takes groups from the component-groups list."""
    return isinstance(record, dict) and record.get("group") is True


def read_template(record: Any) -> TemplateRecord:
    r = _Reader("incident template", record)
    return TemplateRecord(
        id=r.id(),
        name=r.text("name", required=True, maximum=200),
        title=r.text("title", maximum=limits.MAX_NAME_LENGTH),
        body=r.text("body", required=True, maximum=limits.MAX_TEMPLATE_BODY_LENGTH),
        status=r.choice(
            "update_status", Incident.Status.values, default=Incident.Status.INVESTIGATING
        ),
        component_ids=r.ids("components"),
    )


def _read_affected(r: _Reader, value: Any) -> list[dict[str, str | None]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise r.fail("“affected_components” is not a list.")
    affected: list[dict[str, str | None]] = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("code"), str):
            raise r.fail("an entry of “affected_components” has no component code.")
        statuses = []
        for key in ("old_status", "new_status"):
            status = entry.get(key)
            if status not in (None, "") and status not in ComponentStatus.values:
                raise r.fail(f"affected component {entry['code']}: {key} {status!r} is unknown.")
            statuses.append(status or None)
        affected.append(
            {
                "code": entry["code"],
                "name": str(entry.get("name") or ""),
                "old_status": statuses[0],
                "new_status": statuses[1],
            }
        )
    return affected


def read_update(record: Any, kind: str, incident: Any) -> UpdateRecord:
    r = _Reader("incident update", record)
    statuses = [str(s) for s in Incident.statuses_for(kind)]
    try:
        display_at = r.time("display_at") or r.time("created_at", required=True)
    except RecordError as exc:
        raise RecordError("incident", incident, str(exc)) from None
    assert display_at is not None
    try:
        return UpdateRecord(
            id=r.id(),
            status=r.choice("status", statuses),
            body=r.text("body", maximum=limits.MAX_UPDATE_BODY_LENGTH),
            display_at=display_at,
            deliver_notifications=r.flag("deliver_notifications"),
            affected=_read_affected(r, record.get("affected_components")),
            created_at=r.time("created_at"),
            updated_at=r.time("updated_at"),
        )
    except RecordError as exc:
        raise RecordError("incident", incident, str(exc)) from None


def read_postmortem(record: Any, incident: Any) -> PostmortemRecord | None:
    """The postmortem to keep: the published text, else the draft; None for neither."""
    if record is None:
        return None
    r = _Reader("postmortem", record)
    try:
        published_at = r.time("published_at")
        body = r.text("body", maximum=limits.MAX_POSTMORTEM_LENGTH)
        if published_at is None or not body:
            published_at = None
            body = r.text("body_draft", maximum=limits.MAX_POSTMORTEM_LENGTH) or body
        notify = r.flag("notify_subscribers")
    except RecordError as exc:
        raise RecordError("incident", incident, str(exc)) from None
    if not body:
        return None
    return PostmortemRecord(body=body, published_at=published_at, notify_subscribers=notify)


def read_incident(record: Any, postmortem: Any = None) -> IncidentRecord:
    """An incident or maintenance with its updates (oldest first) and its postmortem (the
    record of ``…/postmortem``, or None)."""
    r = _Reader("incident", record)
    r.id()
    status = r.choice("status", Incident.Status.values)
    maintenance = status in Incident.MAINTENANCE_STATUSES or bool(record.get("scheduled_for"))
    kind = Incident.Kind.MAINTENANCE if maintenance else Incident.Kind.INCIDENT
    if status not in Incident.statuses_for(kind):
        raise r.fail(f"status {status!r} is not a status of a scheduled maintenance.")
    raw_updates = record.get("incident_updates")
    if not isinstance(raw_updates, list) or not raw_updates:
        raise r.fail("has no incident updates.")
    updates = sorted(
        (read_update(u, kind, record) for u in raw_updates), key=lambda u: (u.display_at, u.id)
    )
    latest_accepted = timezone.now() + DISPLAY_AT_FUTURE_TOLERANCE
    for update in updates:
        if not update.body:
            raise r.fail(f"update {update.id} has no body.")
        if update.display_at > latest_accepted:
            raise r.fail(f"update {update.id} is dated in the future ({update.display_at}).")
    scheduled_for, scheduled_until = r.time("scheduled_for"), r.time("scheduled_until")
    if maintenance and (scheduled_for is None or scheduled_until is None):
        raise r.fail("is a maintenance without scheduled_for and scheduled_until.")
    if scheduled_for and scheduled_until and scheduled_until <= scheduled_for:
        raise r.fail("its maintenance window ends before it starts.")
    started_at = r.time("started_at") or _started_at(kind, updates, scheduled_for)
    if kind == Incident.Kind.INCIDENT:
        # The update service's time rules (docs/architecture.md, "The update service"): no
        # update before the incident started; its timestamps follow its updates.
        started_at = min(started_at, updates[0].display_at)
    monitoring_at, resolved_at = _timestamps(status, updates)
    impacts = Incident.Impact.values
    components = r.ids("components")
    return IncidentRecord(
        id=record["id"],
        name=r.text("name", required=True, maximum=limits.MAX_NAME_LENGTH),
        kind=kind,
        status=status,
        impact=r.choice(
            "impact",
            impacts,
            default=Incident.Impact.MAINTENANCE if maintenance else Incident.Impact.NONE,
        ),
        impact_override=r.choice("impact_override", impacts, default="none")
        if record.get("impact_override")
        else "",
        created_at=r.time("created_at"),
        updated_at=r.time("updated_at"),
        started_at=started_at,
        monitoring_at=monitoring_at,
        resolved_at=resolved_at,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        auto_start=r.flag("scheduled_auto_in_progress"),
        auto_complete=r.flag("scheduled_auto_completed"),
        remind_before=STATUSPAGE_REMINDER if r.flag("scheduled_remind_prior") else None,
        reminded_at=r.time("scheduled_reminded_at"),
        component_ids=components,
        updates=updates,
        postmortem=read_postmortem(postmortem, record),
    )


def _timestamps(
    status: str, updates: list[UpdateRecord]
) -> tuple[datetime | None, datetime | None]:
    """``monitoring_at`` and ``resolved_at`` as the update service sets them: the first
    update in monitoring, and the last update of a closed incident or maintenance (the
    source's own values are not trusted to agree with its updates)."""
    monitoring = next(
        (u.display_at for u in updates if u.status == Incident.Status.MONITORING), None
    )
    resolved = updates[-1].display_at if status in Incident.CLOSED_STATUSES else None
    return monitoring, resolved


def _started_at(kind: str, updates: list[UpdateRecord], scheduled_for: datetime | None) -> datetime:
    """When the incident started, as the update service would have set it: an incident
    at its first update; a maintenance when its latest "in progress" update was posted,
    or at its scheduled start."""
    if kind == Incident.Kind.INCIDENT:
        return updates[0].display_at
    starts = [u.display_at for u in updates if u.status == Incident.Status.IN_PROGRESS]
    if starts:
        return starts[-1]
    assert scheduled_for is not None
    return scheduled_for


def read_subscriber(record: Any) -> SubscriberRecord:
    r = _Reader("subscriber", record)
    email = r.text("email", required=True, maximum=254)
    return SubscriberRecord(id=r.id(), email=email, component_ids=r.ids("components"))


def wants_postmortem(record: Any) -> bool:
    """Whether an incident of the list says it has a postmortem (published or a draft),
    so that ``…/postmortem`` is worth asking for."""
    return isinstance(record, dict) and any(
        record.get(key)
        for key in ("postmortem_body", "postmortem_published_at", "postmortem_body_last_updated_at")
    )
