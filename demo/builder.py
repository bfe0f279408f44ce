"""Builds the demo page from ``demo.catalogue``: a believable status page for a developer
platform, two years deep.

Everything is created the way operators create it — components with ``set_status``,
incidents and updates through ``incidents.services`` (back-dated with ``display_at``,
``deliver_notifications=False`` so nothing is emailed), subscribers through
``subscriptions.services.add_subscriber`` — so the demo also exercises the real rules
(history rows, impact, the resolve rule).

A seeded random makes every run produce the same page (relative to today).

One concern, kept in one module although it passes 400 lines: building the demo page
through the real services, in the order an operator would.
"""

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from components.models import Component, ComponentGroup, ComponentStatusChange
from demo.catalogue import (
    CATALOGUE,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    DOMAINS,
    FIRST_NAMES,
    HISTORY_DAYS,
    LAST_NAMES,
    LATER_START,
    MAINTENANCES,
    POSTMORTEM,
    SCENARIOS,
    SEED,
    STEP_BODIES,
    TEMPLATES,
    Scenario,
)
from incidents import services
from incidents.models import Incident, IncidentTemplate, Postmortem
from statusportal.roles import SUPPORT_STAFF, sync_support_staff_group
from subscriptions.models import Subscriber
from subscriptions.services import add_subscriber

CS = Component.Status
S = Incident.Status

Progress = Callable[[str], None]


def is_loaded() -> bool:
    """Whether the portal already has a catalogue or incidents (demo or real)."""
    return Component.objects.exists() or Incident.objects.exists()


def reset(progress: Progress) -> None:
    """Delete the catalogue, every incident and every subscriber (users are kept)."""
    with transaction.atomic():
        Incident.objects.all().delete()
        IncidentTemplate.objects.all().delete()
        ComponentStatusChange.objects.all().delete()
        Component.objects.all().delete()
        ComponentGroup.objects.all().delete()
        Subscriber.objects.all().delete()
    progress("reset: deleted components, incidents, templates and subscribers")


class DemoBuilder:
    """Builds the demo page; see ``load``."""

    def __init__(self, progress: Progress, *, incidents: int, subscribers: int, seed: int):
        self.progress = progress
        self.n_incidents = incidents
        self.n_subscribers = subscribers
        self.rng = random.Random(seed)
        self.now = timezone.now().replace(second=0, microsecond=0)
        self.origin = self.now - timedelta(days=HISTORY_DAYS)
        self.components: dict[str, Component] = {}
        self.operator: User | None = None
        self.resolved_major: list[tuple[Incident, Scenario, str]] = []

    # 1. The operator who "posted" everything.
    def make_operator(self):
        sync_support_staff_group()
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": DEMO_EMAIL}
        )
        user.is_staff = True
        user.is_superuser = False
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=SUPPORT_STAFF))
        self.operator = user
        self.progress(f"operator: {DEMO_USERNAME} / {DEMO_PASSWORD} (Support staff)")

    # 2. Groups and components, with back-dated creation rows.
    def make_catalogue(self):
        for g_pos, (group_name, group_desc, members) in enumerate(CATALOGUE, start=1):
            group = None
            if group_name:
                group = ComponentGroup.objects.create(
                    name=group_name, description=group_desc, position=g_pos
                )
            for c_pos, (name, description) in enumerate(members, start=1):
                started = self.origin - timedelta(days=1)
                if name in LATER_START:
                    started = self.now - timedelta(days=LATER_START[name])
                component = Component(
                    name=name,
                    description=description,
                    group=group,
                    position=c_pos if group else g_pos,
                    start_date=started.date(),
                    showcase=name != "Support portal",
                )
                # Created with its first history row dated at its start, as if it had
                # run since.
                component.set_status(CS.OPERATIONAL, at=started)
                self.components[name] = component
        self.progress(
            f"catalogue: {ComponentGroup.objects.count()} groups, {len(self.components)} components"
        )

    def started(self, name: str, at: datetime) -> bool:
        component = self.components[name]
        return component.start_date is None or component.start_date <= at.date()

    # 3. Two years of incidents and maintenance, oldest first, never overlapping.
    def make_history(self):
        rng = self.rng
        n_maint = max(1, self.n_incidents // 10)
        horizon_start = self.origin + timedelta(days=1)
        horizon_end = self.now - timedelta(days=2)
        span = (horizon_end - horizon_start).total_seconds()
        events = [
            (horizon_start + timedelta(seconds=rng.uniform(0, span)), "incident")
            for _ in range(self.n_incidents - n_maint)
        ]
        for _ in range(n_maint):
            day = horizon_start + timedelta(seconds=rng.uniform(0, span))
            # Maintenance happens at night, UTC.
            at = datetime.combine(day.date(), time(rng.choice([1, 2, 3])), tzinfo=day.tzinfo)
            events.append((at, "maintenance"))
        events.sort()
        total = len(events)
        for i, (start, kind) in enumerate(events, start=1):
            next_start = events[i][0] if i < total else horizon_end
            room = max(timedelta(minutes=20), (next_start - start) * 0.8)
            if kind == "incident":
                self.make_incident(start, room)
            else:
                self.make_maintenance(start, room)
            if i % 50 == 0 or i == total:
                self.progress(f"incidents: {i}/{total}")

    def make_incident(self, start: datetime, room: timedelta):
        rng = self.rng
        candidates = [s for s in SCENARIOS if all(self.started(c, start) for c in s.components)]
        scenario = rng.choice(candidates)
        names = scenario.components
        if len(names) > 1 and rng.random() < 0.5:
            names = names[:1]
        worst = scenario.worst
        if rng.random() < 0.25:  # sometimes milder than usual
            worst = CS.DEGRADED_PERFORMANCE
        cause = rng.choice(scenario.causes)
        duration = min(room, timedelta(minutes=rng.choice([25, 40, 55, 80, 120, 180, 300])))
        n_updates = rng.choice([2, 3, 3, 4, 4, 4, 5, 6])
        plan = {
            2: [S.INVESTIGATING, S.RESOLVED],
            3: [S.INVESTIGATING, rng.choice([S.IDENTIFIED, S.MONITORING]), S.RESOLVED],
            4: [S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED],
            5: [S.INVESTIGATING, S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED],
            6: [
                S.INVESTIGATING,
                S.IDENTIFIED,
                S.IDENTIFIED,
                S.MONITORING,
                S.MONITORING,
                S.RESOLVED,
            ],
        }[n_updates]
        offsets = sorted(rng.uniform(0.05, 0.95) for _ in plan[1:-1])
        times = [start] + [start + duration * f for f in offsets] + [start + duration]
        incident: Incident | None = None
        previous = None
        for status, at in zip(plan, times, strict=True):
            body, statuses = self.incident_step(status, previous, scenario, cause, worst, names)
            if incident is None:
                incident = services.open_incident(
                    name=rng.choice(scenario.names),
                    status=status,
                    body=body,
                    components=statuses,
                    deliver_notifications=False,
                    display_at=at,
                    author=self.operator,
                )
            else:
                services.post_update(
                    incident,
                    status=status,
                    body=body,
                    components=statuses,
                    deliver_notifications=False,
                    display_at=at,
                    author=self.operator,
                )
            previous = status
        assert incident is not None  # (a plan has at least two steps)
        if worst == CS.MAJOR_OUTAGE or (worst == CS.PARTIAL_OUTAGE and rng.random() < 0.2):
            self.resolved_major.append((incident, scenario, cause))

    def incident_step(self, status, previous, scenario, cause, worst, names):
        """Body and component statuses for one step of an incident."""
        comps: dict[str, str | None] = {self.components[n].code: None for n in names}
        texts = {
            "symptom": scenario.symptom,
            "cause": cause,
            "fix": scenario.fix,
            "components": ", ".join(names),
        }
        if status == S.INVESTIGATING and previous is None:
            comps = {self.components[n].code: worst for n in names}
            key = "opening"
        elif status == S.MONITORING and previous != S.MONITORING:
            better = CS.DEGRADED_PERFORMANCE if worst != CS.DEGRADED_PERFORMANCE else CS.OPERATIONAL
            comps = {self.components[n].code: better for n in names}
            key = "monitoring"
        elif status == previous and status in (S.IDENTIFIED, S.MONITORING):
            key = f"{status}_again"
        else:
            # Resolved: None lets the resolve rule return them to operational.
            key = str(status)
        return STEP_BODIES[key].format_map(texts), comps

    def make_maintenance(self, start: datetime, room: timedelta):
        rng = self.rng
        names, title, body = rng.choice(MAINTENANCES)
        length = min(room, timedelta(hours=rng.choice([1, 2, 2, 3])))
        announced = start - timedelta(days=rng.choice([3, 5, 7]))
        maintenance = services.open_incident(
            name=title,
            kind=Incident.Kind.MAINTENANCE,
            status=S.SCHEDULED,
            body=body,
            components={self.components[n].code: None for n in names},
            deliver_notifications=False,
            display_at=max(announced, self.origin),
            scheduled_for=start,
            scheduled_until=start + length,
            auto_start=True,
            auto_complete=True,
            remind_before=timedelta(hours=1),
            author=self.operator,
        )
        common: dict[str, Any] = {"deliver_notifications": False, "author": self.operator}
        services.post_update(
            maintenance,
            status=S.IN_PROGRESS,
            body="The scheduled maintenance is in progress.",
            display_at=start,
            **common,
        )
        if rng.random() < 0.4:
            services.post_update(
                maintenance,
                status=S.VERIFYING,
                body="The work is done; we are verifying that everything works as expected.",
                display_at=start + length * 0.8,
                **common,
            )
        services.post_update(
            maintenance,
            status=S.COMPLETED,
            body="The scheduled maintenance has been completed.",
            display_at=start + length,
            **common,
        )

    # 4. Postmortems on the worst incidents; one stays a draft.
    def make_postmortems(self):
        chosen = self.resolved_major[-max(1, self.n_incidents // 20) :]
        for index, (incident, scenario, cause) in enumerate(chosen):
            incident.refresh_from_db()
            assert incident.resolved_at is not None  # (only resolved incidents are chosen)
            updates = list(incident.updates.order_by("display_at"))
            marks = [updates[0], updates[len(updates) // 3], updates[-2], updates[-1]]
            duration = incident.resolved_at - incident.started_at
            minutes = int(duration.total_seconds() // 60)
            body = POSTMORTEM.format(
                date=f"{incident.started_at:%B %d, %Y}",
                symptom=scenario.symptom[0].upper() + scenario.symptom[1:],
                duration=f"{minutes} minutes",
                impact_sentence=f"{', '.join(scenario.components)} "
                f"{'was' if len(scenario.components) == 1 else 'were'} affected.",
                component=scenario.components[0],
                cause=cause,
                t0=f"{marks[0].display_at:%H:%M}",
                t1=f"{marks[1].display_at:%H:%M}",
                t2=f"{marks[2].display_at:%H:%M}",
                t3=f"{marks[3].display_at:%H:%M}",
            )
            services.save_postmortem_draft(incident, body=body, author=self.operator)
            if index == len(chosen) - 1 and len(chosen) > 1:
                continue  # the most recent one is still being written
            services.publish_postmortem(incident, notify=False, author=self.operator)
            # The service stamps "now"; date it a few days after the incident, as it was.
            Postmortem.objects.filter(incident=incident).update(
                published_at=incident.resolved_at + timedelta(days=self.rng.choice([2, 3, 5]))
            )
        self.progress(f"postmortems: {len(chosen)} ({max(0, len(chosen) - 1)} published)")

    # 5. What is happening right now.
    def make_current(self):
        upcoming = self.now.replace(hour=2, minute=0) + timedelta(days=3)
        services.open_incident(
            name="Managed Postgres storage upgrade",
            kind=Incident.Kind.MAINTENANCE,
            status=S.SCHEDULED,
            body="We will move databases in eu-west to faster storage. Each database is "
            "read-only for up to two minutes during its switch-over.",
            components={
                self.components["Managed Postgres"].code: None,
                self.components["Backups"].code: None,
            },
            deliver_notifications=False,
            display_at=self.now - timedelta(days=1),
            scheduled_for=upcoming,
            scheduled_until=upcoming + timedelta(hours=2),
            auto_start=True,
            auto_complete=True,
            remind_before=timedelta(hours=2),
            author=self.operator,
        )
        webhooks = self.components["Webhooks"].code
        active = services.open_incident(
            name="Delayed webhook deliveries",
            status=S.INVESTIGATING,
            body="We are investigating delays of up to 15 minutes in webhook deliveries.",
            components={webhooks: CS.DEGRADED_PERFORMANCE},
            deliver_notifications=False,
            display_at=self.now - timedelta(minutes=38),
            author=self.operator,
        )
        services.post_update(
            active,
            status=S.IDENTIFIED,
            body="A queue consumer stopped processing events after a deploy. We are "
            "restarting it; queued webhooks will be delivered in order.",
            components={webhooks: CS.PARTIAL_OUTAGE},
            deliver_notifications=False,
            display_at=self.now - timedelta(minutes=14),
            author=self.operator,
        )
        self.progress("now: 1 active incident, 1 upcoming maintenance")

    def make_templates(self):
        for name, title, status, component_status, names, body in TEMPLATES:
            template = IncidentTemplate.objects.create(
                name=name,
                title=title,
                status=status,
                component_status=component_status,
                body=body,
            )
            template.components.set([self.components[n] for n in names])
        self.progress(f"templates: {len(TEMPLATES)}")

    def make_subscribers(self):
        create_demo_subscribers(
            self.n_subscribers, list(self.components.values()), self.rng, self.progress
        )

    def load(self):
        with transaction.atomic():
            self.make_operator()
            self.make_catalogue()
            self.make_templates()
            self.make_history()
            self.make_postmortems()
            self.make_current()
            self.make_subscribers()


def create_demo_subscribers(
    count: int, components: list[Component], rng: random.Random, progress: Progress
) -> int:
    """Subscribe ``count`` made-up addresses (reserved example domains, so nothing can
    ever reach a real person), most to everything, some to a few components. Returns how
    many were created."""
    firsts, lasts = FIRST_NAMES.split(), LAST_NAMES.split()
    for i in range(1, count + 1):
        email = f"{rng.choice(firsts)}.{rng.choice(lasts)}{i}@{rng.choice(DOMAINS)}"
        scope = None
        if rng.random() < 0.4:
            scope = rng.sample(components, rng.randint(1, 4))
        add_subscriber(email, components=scope, confirmed=True, send_confirmation=False)
        if i % 100 == 0 or i == count:
            progress(f"subscribers: {i}/{count}")
    return count


def load(
    progress: Progress, *, incidents: int = 300, subscribers: int = 300, seed: int = SEED
) -> None:
    """Build the whole demo page (in one transaction: all or nothing)."""
    DemoBuilder(progress, incidents=incidents, subscribers=subscribers, seed=seed).load()
