"""One import run: the phases in order, each reading its list page by page and writing
each object through ``importer.services`` (see docs/architecture.md, "Importing from
Statuspage").

A record that cannot be imported (malformed, or in the way of an object that was not
imported) is reported and skipped; the others go on. A source that cannot be read (a
refused key, an unknown page, an unreachable host) stops the run with ``ApiError``:
everything imported until then is complete, and the next run resumes.

One concern, kept in one module although it passes 400 lines: the order of an import
run and what each phase reads, in the order it runs.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, IntegrityError, connection, models
from django.utils import timezone
from rich.progress import Progress, TaskID

from components.models import Component, ComponentGroup
from importer import records, services
from importer.client import ApiError, ManageClient, NotFound
from importer.models import ImportedObject
from importer.services import Conflict, Source
from incidents.models import Incident, IncidentUpdate

Kind = ImportedObject.Kind
Record = TypeVar("Record")

PHASES = [
    ("groups", "Component groups"),
    ("components", "Components"),
    ("templates", "Incident templates"),
    ("incidents", "Incidents and maintenance"),
    ("history", "Component history"),
    ("subscribers", "Email subscribers"),
    ("incident_subscribers", "Incident subscribers"),
]


@dataclass
class Tally:
    """What one phase did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass
class Report:
    """The outcome of a run: a tally per phase, problems (objects not imported) and
    notes (imported, with something to know)."""

    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k, _ in PHASES})
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.tallies.values())


def _missing_as_empty(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """A list the source does not have (404: incident subscribers turned off) is empty."""
    try:
        yield from pages
    except NotFound:
        return


@contextmanager
def _commits_without_waiting_for_the_disk() -> Iterator[None]:
    """PostgreSQL's ``synchronous_commit = off`` for this connection while it imports.

    Every object commits on its own, and on a busy disk the wait for each commit's flush
    dominates (thousands of incidents). Off, a crash of the database may forget the last
    commits (never corrupt them): the next run, which skips what it finds imported,
    imports them again. Other connections keep the server's setting."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


class Importer:
    """Imports the page ``client`` reads. ``dry_run`` reads and checks everything, and
    counts what it would write, writing nothing."""

    def __init__(
        self, client: ManageClient, *, dry_run: bool = False, progress: Progress | None = None
    ) -> None:
        self.client = client
        self.dry_run = dry_run
        self.progress = progress or Progress(disable=True)
        self.source = Source(client.page_url)
        self.report = Report()
        # The source's ids -> the local rows, filled as phases run.
        self.groups: dict[str, ComponentGroup] = {}
        self.components: dict[str, Component] = {}
        # What the source says: each component's group (from the groups' lists), and
        # each component as read (its status now, for the history).
        self.group_of: dict[str, str] = {}
        self.remote_components: dict[str, records.ComponentRecord] = {}
        self.open_incidents: dict[str, Incident | None] = {}
        # Codes of the current page of incidents (and their updates) already in use.
        self.taken: set[str] = set()
        self.taken_updates: set[str] = set()

    def run(self) -> Report:
        """Every phase in order; ``ApiError`` when the source cannot be read."""
        try:
            self.client.get("")
        except NotFound:
            raise ApiError(
                f"No page {self.client.page_id} at {self.client.base_url} (404): "
                "check --page-id and --url.",
                status=404,
            ) from None
        with _commits_without_waiting_for_the_disk():
            for key, _label in PHASES:
                getattr(self, f"_{key}")()
        return self.report

    # --- one object -------------------------------------------------------------------

    def _task(self, key: str) -> TaskID:
        label = dict(PHASES)[key]
        return self.progress.add_task(label, total=None)

    def _each(
        self,
        key: str,
        kind: str,
        rows: Iterable[list[dict[str, Any]]],
        read: Callable[[Any], Record],
        write: Callable[[Record, str, ImportedObject | None], Any],
        *,
        write_new: Callable[[list[tuple[Record, str]]], list[Any]] | None = None,
        keep: Callable[[Record, Any], None] | None = None,
        remote_id: Callable[[Record], str] = lambda r: r.id,  # type: ignore[attr-defined]
        shown: Callable[[Any], Any] = lambda row: row,
        task: TaskID | None = None,
    ) -> None:
        """Read, check and write (or count) every record of a phase.

        ``write`` writes one record (in its own transaction). ``write_new``, when given,
        writes all the new records of a page at once (one transaction for the page);
        should it refuse, they are written one by one, so that the one at fault is named
        and the others are imported. ``shown`` gives the part of a row that names it."""
        tally = self.report.tallies[key]
        own_task = task is None
        task = self._task(key) if task is None else task
        known = services.mappings(self.source, kind)
        label = kind.replace("_", " ")
        for page in rows:
            new: list[tuple[Any, Record, str]] = []
            for row in page:
                self.progress.advance(task)
                try:
                    record = read(row)
                except records.RecordError as exc:
                    tally.failed += 1
                    self.report.problems.append(str(exc))
                    continue
                row = shown(row)
                rid = remote_id(record)
                mapping = known.get(rid)
                fingerprint = records.fingerprint(record)
                if mapping is not None and mapping.fingerprint == fingerprint:
                    tally.unchanged += 1
                elif self.dry_run:
                    if mapping is None:
                        tally.created += 1
                    else:
                        tally.updated += 1
                elif mapping is None and write_new is not None:
                    new.append((row, record, fingerprint))
                    continue
                else:
                    try:
                        obj, created = write(record, fingerprint, mapping)
                    except Exception as exc:
                        self._refused(tally, label, row, exc)
                        continue
                    self._written(tally, label, row, rid, obj, created)
                    if keep is not None:
                        keep(record, obj)
                    continue
                if keep is not None:
                    keep(record, None)
            if not new:
                continue
            assert write_new is not None
            try:
                objs = write_new([(record, fingerprint) for _, record, fingerprint in new])
            except (Conflict, ValidationError, DatabaseError):
                objs = [None] * len(new)
            for (row, record, fingerprint), obj in zip(new, objs, strict=True):
                if obj is None:
                    try:
                        obj, _created = write(record, fingerprint, None)
                    except Exception as exc:
                        self._refused(tally, label, row, exc)
                        continue
                self._written(tally, label, row, remote_id(record), obj, True)
                if keep is not None:
                    keep(record, obj)
        if own_task:
            self._done(task)

    def _refused(self, tally: Tally, label: str, row: Any, exc: Exception) -> None:
        """Count and report an object the services refused; re-raise what is not a
        refusal (a lost database, a bug)."""
        name = records.describe(label, row)
        if isinstance(exc, Conflict):
            tally.skipped += 1
            self.report.problems.append(f"{name}: {exc}; left as it is.")
        elif isinstance(exc, ValidationError):
            tally.failed += 1
            self.report.problems.append(f"{name}: {' '.join(exc.messages)}")
        elif isinstance(exc, (IntegrityError, DataError)):
            tally.failed += 1
            self.report.problems.append(f"{name}: the database refused it ({exc}).")
        else:
            raise exc

    def _written(
        self, tally: Tally, label: str, row: Any, rid: str, obj: Any, created: bool
    ) -> None:
        if not created:
            tally.updated += 1
            return
        tally.created += 1
        code = getattr(obj, "code", None)
        if code is not None and code != rid and label != "incident subscriber":
            self.report.notes.append(
                f"{records.describe(label, row)}: its id does not fit our 12-character "
                f"codes; it is {code} here (links to the old id will not work)."
            )

    def _done(self, task: TaskID) -> None:
        """The phase's count is known once its last page is read."""
        for state in self.progress.tasks:
            if state.id == task:
                self.progress.update(task, total=state.completed)

    def _locals(self, kind: str, model: type[models.Model]) -> dict[str, Any]:
        """The local rows this source imported of ``kind``, by the source's id."""
        known = services.mappings(self.source, kind)
        rows = model._default_manager.in_bulk([m.local_id for m in known.values()])
        return {rid: rows[m.local_id] for rid, m in known.items() if m.local_id in rows}

    # --- phases -----------------------------------------------------------------------

    def _groups(self) -> None:
        def keep(record: records.GroupRecord, group: Any) -> None:
            for component_id in record.component_ids:
                self.group_of[component_id] = record.id

        self._each(
            "groups",
            Kind.COMPONENT_GROUP,
            self.client.pages("/component-groups"),
            records.read_group,
            lambda r, f, m: services.import_group(r, f, self.source, m),
            keep=keep,
        )
        self.groups = self._locals(Kind.COMPONENT_GROUP, ComponentGroup)

    def _components(self) -> None:
        def read(row: Any) -> records.ComponentRecord:
            record = records.read_component(row)
            record.group_id = record.group_id or self.group_of.get(record.id)
            return record

        def keep(record: records.ComponentRecord, component: Any) -> None:
            self.remote_components[record.id] = record

        rows = (
            [row for row in page if not records.is_group_entry(row)]
            for page in self.client.pages("/components")
        )
        self._each(
            "components",
            Kind.COMPONENT,
            rows,
            read,
            lambda r, f, m: services.import_component(
                r, f, self.source, m, self.groups.get(r.group_id or "")
            ),
            keep=keep,
        )
        self.components = self._locals(Kind.COMPONENT, Component)

    def _templates(self) -> None:
        self._each(
            "templates",
            Kind.TEMPLATE,
            self.client.pages("/incident_templates"),
            records.read_template,
            lambda r, f, m: services.import_template(r, f, self.source, m, self.components),
        )

    def _incident_rows(self) -> Iterator[list[dict[str, Any]]]:
        """The incidents list, each row paired with its postmortem when it has one; the
        codes of the page already in use are read once for the page."""
        for page in self.client.pages("/incidents", size_param="limit"):
            ids = [str(row.get("id")) for row in page if isinstance(row, dict)]
            update_ids = [
                str(u.get("id"))
                for row in page
                if isinstance(row, dict) and isinstance(row.get("incident_updates"), list)
                for u in row["incident_updates"]
                if isinstance(u, dict)
            ]
            if not self.dry_run:
                self.taken = services.codes_in_use(Incident, ids)
                self.taken_updates = services.codes_in_use(IncidentUpdate, update_ids)
            rows = []
            for row in page:
                postmortem = None
                if records.wants_postmortem(row) and isinstance(row.get("id"), str):
                    try:
                        postmortem = self.client.get(f"/incidents/{row['id']}/postmortem")
                    except NotFound:
                        postmortem = None
                rows.append({"incident": row, "postmortem": postmortem})
            yield rows

    def _incidents(self) -> None:
        def read(pair: dict[str, Any]) -> records.IncidentRecord:
            return records.read_incident(pair["incident"], pair["postmortem"])

        def keep(record: records.IncidentRecord, incident: Any) -> None:
            if not record.is_closed:
                self.open_incidents[record.id] = incident

        self._each(
            "incidents",
            Kind.INCIDENT,
            self._incident_rows(),
            read,
            lambda r, f, m: services.import_incident(
                r,
                f,
                self.source,
                m,
                self.components,
                taken=self.taken,
                taken_updates=self.taken_updates,
            ),
            shown=lambda pair: pair["incident"],
            write_new=lambda items: services.import_new_incidents(
                items,
                self.source,
                self.components,
                taken=self.taken,
                taken_updates=self.taken_updates,
            ),
            keep=keep,
        )
        if not self.dry_run:
            found = self._locals(Kind.INCIDENT, Incident)
            self.open_incidents = {rid: found.get(rid) for rid in self.open_incidents}

    def _history(self) -> None:
        """Rebuild each imported component's history from the imported updates (in a
        dry run, count the components whose history would change)."""
        tally = self.report.tallies["history"]
        task = self.progress.add_task(dict(PHASES)["history"], total=len(self.components))
        changes = services.imported_changes(self.source)
        now = timezone.now()
        for remote_id, component in self.components.items():
            self.progress.advance(task)
            record = self.remote_components.get(remote_id)
            if record is None:
                continue  # no longer at the source: its history stays as it is
            # The status the source gives, not the one here: an operator may have moved
            # it since, with a history row of their own.
            plan = services.planned_history(
                record.created_at or component.created_at,
                record.status,
                changes.get(component.code, []),
                now,
                updated_at=record.updated_at,
            )
            added, removed = services.rebuild_history(
                component, plan, self.source, write=not self.dry_run
            )
            if added or removed:
                tally.updated += 1
            else:
                tally.unchanged += 1

    def _subscribers(self) -> None:
        everything = set(self.remote_components)

        def write(
            record: records.SubscriberRecord, fingerprint: str, mapping: ImportedObject | None
        ) -> Any:
            chosen = set(record.component_ids)
            return services.import_subscriber(
                record,
                fingerprint,
                self.source,
                mapping,
                self.components,
                everything=not chosen or chosen >= everything,
            )

        rows = self.client.pages(
            "/subscribers",
            size_param="limit",
            first=0,
            params={"type": "email", "state": "active"},
        )
        self._each(
            "subscribers",
            Kind.SUBSCRIBER,
            self._emails_only(rows, "subscribers"),
            records.read_subscriber,
            write,
        )

    def _emails_only(
        self, rows: Iterable[list[dict[str, Any]]], key: str
    ) -> Iterator[list[dict[str, Any]]]:
        """Email subscribers only: SMS, webhook, Slack and Teams subscribers have no
        channel here; they are counted as skipped."""
        for page in rows:
            emails = []
            for row in page:
                if isinstance(row, dict) and row.get("mode", "email") not in ("email", None):
                    self.report.tallies[key].skipped += 1
                    continue
                emails.append(row)
            yield emails

    def _incident_subscribers(self) -> None:
        """Followers of the incidents still open (those of a closed incident would hear
        nothing more)."""
        task = self._task("incident_subscribers")
        for remote_id, incident in self.open_incidents.items():
            if incident is None and not self.dry_run:
                continue  # not imported (reported in its phase)

            def write(
                record: records.SubscriberRecord,
                fingerprint: str,
                mapping: ImportedObject | None,
                incident: Incident | None = incident,
                remote_id: str = remote_id,
            ) -> Any:
                assert incident is not None
                return services.import_incident_subscriber(
                    record, fingerprint, self.source, mapping, f"{remote_id}/{record.id}", incident
                )

            def key(record: records.SubscriberRecord, remote_id: str = remote_id) -> str:
                return f"{remote_id}/{record.id}"

            rows = _missing_as_empty(self.client.pages(f"/incidents/{remote_id}/subscribers"))
            self._each(
                "incident_subscribers",
                Kind.INCIDENT_SUBSCRIBER,
                self._emails_only(rows, "incident_subscribers"),
                records.read_subscriber,
                write,
                remote_id=key,
                task=task,
            )
        self._done(task)
