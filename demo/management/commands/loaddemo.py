"""``manage.py loaddemo``: fill an empty portal with a believable demo page."""

import time

from django.core.management.base import BaseCommand, CommandParser

from components.models import Component
from demo import builder
from demo.catalogue import DEMO_PASSWORD, DEMO_USERNAME, SEED
from demo.checks import DEMO_LOGIN_WARNING
from incidents.models import Incident


class Command(BaseCommand):
    help = (
        "Load demo data: 6 groups and 25 components, two years of incidents and "
        "maintenance, one active incident, one upcoming maintenance, subscribers, and the "
        f"Support staff login {DEMO_USERNAME} / {DEMO_PASSWORD}. Does nothing if "
        "the portal already has components or incidents, unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete all components, incidents, templates and subscribers first "
            "(users are kept), then load the demo.",
        )
        parser.add_argument(
            "--incidents",
            type=int,
            default=300,
            help="How many past incidents and maintenance to create (default 300).",
        )
        parser.add_argument(
            "--subscribers",
            type=int,
            default=300,
            help="How many demo subscribers to create (default 300).",
        )
        parser.add_argument("--seed", type=int, default=SEED, help="Random seed.")

    def handle(self, *args, reset: bool, incidents: int, subscribers: int, seed: int, **kw):
        if incidents < 1 or subscribers < 0:
            self.stderr.write("--incidents must be at least 1 and --subscribers at least 0.")
            raise SystemExit(2)
        if builder.is_loaded() and not reset:
            self.stdout.write(
                f"The portal already has data ({Component.objects.count()} components, "
                f"{Incident.objects.count()} incidents): nothing to do. "
                "Run `manage.py loaddemo --reset` to rebuild the demo (deletes them)."
            )
            return
        started = time.monotonic()
        if reset:
            builder.reset(self.stdout.write)
        builder.load(self.stdout.write, incidents=incidents, subscribers=subscribers, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded in {time.monotonic() - started:.1f}s. Operator login: "
                f"{DEMO_USERNAME} / {DEMO_PASSWORD} (Support staff; no superuser "
                "is created — use `manage.py createsuperuser` for one)."
            )
        )
        self.stdout.write(self.style.WARNING(f"WARNING: {DEMO_LOGIN_WARNING}"))
