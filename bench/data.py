"""A large, consistent data set loaded fast.

Rows are generated in Python with explicit primary keys and written with PostgreSQL
``COPY … FROM STDIN`` (psycopg 3), which is an order of magnitude faster than INSERTs;
on other databases the same rows go through ``bulk_create`` (used by the smoke test on
SQLite). Every column the generator does not set is filled the way Django would
(``default``, ``auto_now``/``auto_now_add``, NULL or ""), so fields other apps add later
keep working as long as they have a default.

The history is consistent: each incident lives in its own time slot, so no two incidents
overlap, and every ComponentStatusChange's ``old_status`` is the previous row's
``new_status`` for that component; every component ends operational.
"""

import functools
import json
import random
import time
from datetime import UTC, datetime, timedelta

from django.core.management.color import no_style
from django.db import connection, models, transaction

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
GROUPS = ["API", "Website", "Git operations", "Payments", "Notifications", "Infrastructure"]
COMPONENTS_PER_GROUP = 5
HISTORY_DAYS = 730
UPDATES_PER_INCIDENT = 4
MAINTENANCE_SHARE = 0.05
POSTMORTEM_SHARE = 0.05
COPY_BATCH = 50_000

BODIES = [
    "We are investigating **elevated error rates** on {c}. Some requests may fail or time "
    "out. Next update within 30 minutes.",
    "The cause has been identified: a configuration change rolled out to part of the {c} "
    "fleet. We are rolling it back.\n\n- affected: a share of requests\n- data: none lost",
    "A fix has been deployed and we are **monitoring** the results. Error rates on {c} are "
    "back to normal levels; see [our docs](https://example.test/docs) for retries.",
    "This incident has been resolved. We will publish a postmortem for {c} in the coming days.",
]
MAINTENANCE_BODIES = [
    "We will upgrade the database cluster behind {c}. Expect short interruptions.",
    "Scheduled maintenance is in progress for {c}. We will keep you posted.",
    "The maintenance on {c} is done; we are verifying that everything works.",
    "The scheduled maintenance has been completed.",
]
POSTMORTEM = (
    "## What happened\n\nA configuration change reduced capacity of {c}.\n\n"
    "## What we are doing\n\n1. Canary every configuration change.\n2. Alert earlier.\n"
)


class Codes:
    """Fast, unique, reproducible 12-character codes (CodeField's alphabet and length)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.seen: set[str] = set()

    def __call__(self) -> str:
        while True:
            code = "".join(self.rng.choices(ALPHABET, k=12))
            if code not in self.seen:
                self.seen.add(code)
                return code


class Table:
    """Rows of one model, filled with Django's defaults and written in batches."""

    def __init__(self, model: type[models.Model], batch: int = COPY_BATCH):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.batch = batch
        self.rows: list[dict] = []
        self.written = 0
        self._now = datetime.now(UTC)

    def add(self, **values) -> None:
        self.rows.append(values)
        if len(self.rows) >= self.batch:
            self.flush()

    def _complete(self, values: dict) -> list:
        row = []
        for field in self.fields:
            if field.attname in values:
                row.append(values[field.attname])
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                row.append(self._now.date() if type(field) is models.DateField else self._now)
            elif field.has_default():
                row.append(field.get_default())
            elif field.null:
                row.append(None)
            elif field.empty_strings_allowed:
                row.append("")
            else:
                raise ValueError(f"{self.model.__name__}.{field.name} needs a value")
        return row

    def flush(self) -> None:
        if not self.rows:
            return
        rows = [self._complete(values) for values in self.rows]
        self.written += len(rows)
        self.rows = []
        if connection.vendor == "postgresql":
            self._copy(rows)
        else:
            objs = [
                self.model(**{f.attname: v for f, v in zip(self.fields, row, strict=True)})
                for row in rows
            ]
            self.model.objects.bulk_create(objs, batch_size=500)

    def _copy(self, rows: list[list]) -> None:
        json_at = [i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        sql = f"COPY {quote(self.model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                for i in json_at:
                    row[i] = json.dumps(row[i])
                copy.write_row(row)


def _reset_sequences(model_list) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def app_models(labels=("importer", "subscriptions", "incidents", "components")):
    """The models the data set lives in, children first (for emptying)."""
    from django.apps import apps

    result = []
    for label in labels:
        result += list(apps.get_app_config(label).get_models(include_auto_created=True))
    return result


def empty(model_list=None) -> None:
    """Delete the data set (and the page-cache revision) so another can be loaded; or
    only the rows of ``model_list``."""
    from statusportal.models import Revision

    model_list = model_list or [*app_models(), Revision]
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in model_list)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        with transaction.atomic():
            for model in model_list:
                model.objects.all()._raw_delete(connection.alias)


def _pick_status(rng: random.Random):
    from components.models import Component

    s = Component.Status
    return rng.choices(
        [s.DEGRADED_PERFORMANCE, s.PARTIAL_OUTAGE, s.MAJOR_OUTAGE], weights=[5, 3, 2]
    )[0]


@functools.lru_cache(maxsize=1024)
def _body_html(body: str) -> str:
    from statusportal.markdown import render_markdown

    return str(render_markdown(body))


def analyze() -> None:
    """Vacuum and refresh the planner's statistics, as autovacuum does within a minute of a
    bulk load. Without statistics PostgreSQL plans for empty tables; without the vacuum,
    autovacuum starts on the freshly loaded tables (hundreds of thousands of rows at 100k
    incidents) while the pages are being timed, and every page, even those that read
    nothing of the history, measured 1.5x slower at 100k than at 1k."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def load(n_incidents: int, **kwargs) -> dict:
    """Load the data set (see ``_load``) and refresh statistics."""
    started = time.perf_counter()
    result = _load(n_incidents, **kwargs)
    analyze()
    result["seconds"] = time.perf_counter() - started
    return result


@transaction.atomic
def _load(
    n_incidents: int, *, days: float = HISTORY_DAYS, seed: int = 6, now: datetime | None = None
) -> dict:
    """Load 6 groups of 5 components and ``n_incidents`` resolved incidents (5% of them
    maintenance) with 4 updates each over the last ``days`` (two years), their status
    history, incident components and a postmortem for 5% of them, into an empty database.

    Returns counts and the seconds it took."""
    from components.models import Component, ComponentGroup, ComponentStatusChange
    from components.uptime import rebuild_rollups
    from incidents.models import Incident, IncidentUpdate, Postmortem, StatusChangeCause
    from incidents.services import IMPACT_OF_STATUS
    from statusportal.models import Revision

    started = time.perf_counter()
    rng = random.Random(seed)
    codes = Codes(rng)
    now = now or datetime.now(UTC)
    begin = now - timedelta(days=days)
    CS, IS = Component.Status, Incident.Status

    groups = Table(ComponentGroup)
    components = Table(Component)
    changes = Table(ComponentStatusChange)
    comp_rows = []
    for g, name in enumerate(GROUPS, start=1):
        groups.add(id=g, code=codes(), name=name, position=g, created_at=begin, updated_at=begin)
        for p in range(1, COMPONENTS_PER_GROUP + 1):
            cid = len(comp_rows) + 1
            comp = {"id": cid, "code": codes(), "name": f"{name} {p}", "group_id": g}
            comp_rows.append(comp)
            components.add(
                **comp,
                position=p,
                status=CS.OPERATIONAL,
                start_date=begin.date(),
                created_at=begin,
                updated_at=begin,
            )
    change_id = 0
    for comp in comp_rows:
        change_id += 1
        changes.add(
            id=change_id,
            component_id=comp["id"],
            old_status=None,
            new_status=CS.OPERATIONAL,
            at=begin,
        )
    groups.flush()
    components.flush()

    incidents = Table(Incident)
    updates = Table(IncidentUpdate)
    links = Table(Incident.components.through)
    causes = Table(StatusChangeCause)
    postmortems = Table(Postmortem)
    slot = (now - timedelta(hours=1) - begin) / max(n_incidents, 1)
    update_id = link_id = postmortem_id = 0
    for i in range(1, n_incidents + 1):
        t0 = begin + slot * (i - 1) + slot * rng.uniform(0, 0.1)
        length = slot * rng.uniform(0.3, 0.8)
        affected = rng.sample(comp_rows, rng.randint(1, 3))
        maintenance = rng.random() < MAINTENANCE_SHARE
        label = affected[0]["name"]
        if maintenance:
            plan = [  # (status, at, component status to set or None, body)
                (IS.SCHEDULED, t0 - timedelta(days=1), None),
                (IS.IN_PROGRESS, t0, CS.UNDER_MAINTENANCE),
                (IS.VERIFYING, t0 + length * 0.7, None),
                (IS.COMPLETED, t0 + length, CS.OPERATIONAL),
            ]
            bodies, worst = MAINTENANCE_BODIES, None
        else:
            worst = _pick_status(rng)
            recovering = CS.DEGRADED_PERFORMANCE if worst != CS.DEGRADED_PERFORMANCE else None
            plan = [
                (IS.INVESTIGATING, t0, worst),
                (IS.IDENTIFIED, t0 + length * 0.25, None),
                (IS.MONITORING, t0 + length * 0.6, recovering),
                (IS.RESOLVED, t0 + length, CS.OPERATIONAL),
            ]
            bodies = BODIES
        status_now = {c["id"]: CS.OPERATIONAL for c in affected}
        for n, (status, at, target) in enumerate(plan):
            update_id += 1
            entries = []
            for comp in affected:
                if target is None or status_now[comp["id"]] == target:
                    continue
                entries.append(
                    {
                        "code": comp["code"],
                        "name": comp["name"],
                        "old_status": str(status_now[comp["id"]]),
                        "new_status": str(target),
                    }
                )
                change_id += 1
                changes.add(
                    id=change_id,
                    component_id=comp["id"],
                    old_status=status_now[comp["id"]],
                    new_status=target,
                    at=at,
                )
                causes.add(status_change_id=change_id, incident_update_id=update_id)
                status_now[comp["id"]] = target
            updates.add(
                id=update_id,
                code=codes(),
                incident_id=i,
                status=status,
                body=bodies[n].format(c=label),
                # What IncidentUpdate.save() stores; COPY bypasses save().
                body_html=_body_html(bodies[n].format(c=label)),
                display_at=at,
                deliver_notifications=True,
                affected_components=entries,
                author_id=None,
                created_at=at,
                updated_at=at,
            )
        for comp in affected:
            link_id += 1
            links.add(id=link_id, incident_id=i, component_id=comp["id"])
        incidents.add(
            id=i,
            code=codes(),
            name=f"{'Maintenance of' if maintenance else 'Errors on'} {label} #{i}",
            kind=Incident.Kind.MAINTENANCE if maintenance else Incident.Kind.INCIDENT,
            status=plan[-1][0],
            impact=Incident.Impact.MAINTENANCE if maintenance else IMPACT_OF_STATUS[worst],
            started_at=t0,
            monitoring_at=None if maintenance else plan[2][1],
            resolved_at=t0 + length,
            scheduled_for=t0 if maintenance else None,
            scheduled_until=t0 + length if maintenance else None,
            created_at=plan[0][1],
            updated_at=t0 + length,
        )
        if not maintenance and rng.random() < POSTMORTEM_SHARE:
            postmortem_id += 1
            postmortems.add(
                id=postmortem_id,
                incident_id=i,
                body=POSTMORTEM.format(c=label),
                published_at=t0 + length + timedelta(hours=2),
                notify_subscribers=False,
                author_id=None,
                created_at=t0 + length,
                updated_at=t0 + length,
            )
    # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: checked at commit.
    for table in (incidents, updates, links, changes, causes, postmortems):
        table.flush()
    _reset_sequences(
        [
            ComponentGroup,
            Component,
            ComponentStatusChange,
            Incident,
            IncidentUpdate,
            Incident.components.through,
            Postmortem,
        ]
    )
    # COPY wrote the history past the ORM: roll its days up as the services would have.
    rebuild_rollups(Component.objects.values_list("pk", flat=True))
    Revision.bump()
    return {
        "incidents": incidents.written,
        "updates": updates.written,
        "status_changes": changes.written,
        "seconds": time.perf_counter() - started,
    }


@transaction.atomic
def add_subscribers(total: int) -> dict:
    """Make the number of active subscribers to all components ``total`` (adding only)."""
    from subscriptions.models import Subscriber

    started = time.perf_counter()
    have = Subscriber.objects.count()
    start_id = Subscriber.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(start_id)
    codes = Codes(rng)
    table = Table(Subscriber)
    at = datetime.now(UTC) - timedelta(days=30)
    fields = {f.name for f in Subscriber._meta.concrete_fields}
    for n in range(start_id + 1, start_id + 1 + max(0, total - have)):
        values = {
            "id": n,
            "code": codes(),
            "email": f"subscriber{n}@example.test",
            "state": Subscriber.State.ACTIVE,
            "created_at": at,
            "updated_at": at,
        }
        if "all_components" in fields:
            values["all_components"] = True
        if "confirmed_at" in fields:
            values["confirmed_at"] = at
        table.add(**values)
    table.flush()
    _reset_sequences([Subscriber])
    transaction.on_commit(analyze)
    return {"added": table.written, "seconds": time.perf_counter() - started}


def add_webhook_subscribers(total: int, base_url: str) -> dict:
    """Make the number of active webhook subscribers to all components ``total`` (adding
    only), each with an endpoint of its own under ``base_url`` (one receiver)."""
    from subscriptions.models import Subscriber

    started = time.perf_counter()
    have = Subscriber.objects.filter(channel=Subscriber.Channel.WEBHOOK).count()
    start_id = Subscriber.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(start_id)
    codes = Codes(rng)
    table = Table(Subscriber)
    at = datetime.now(UTC) - timedelta(days=30)
    for n in range(start_id + 1, start_id + 1 + max(0, total - have)):
        table.add(
            id=n,
            code=codes(),
            channel=Subscriber.Channel.WEBHOOK,
            endpoint=f"{base_url}/hooks/{n}",
            email=f"ops{n}@example.test",
            secret=f"{rng.getrandbits(256):064x}",
            state=Subscriber.State.ACTIVE,
            all_components=True,
            confirmed_at=at,
            created_at=at,
            updated_at=at,
        )
    table.flush()
    _reset_sequences([Subscriber])
    transaction.on_commit(analyze)
    return {"added": table.written, "seconds": time.perf_counter() - started}
