"""``manage.py rebuild_uptime``: roll the uptime days up again from the status history
(after a bulk load that bypassed the ORM; see docs/architecture.md, 'Uptime from daily
roll-ups')."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from components.models import Component
from components.uptime import rebuild_rollups


class Command(BaseCommand):
    help = "Roll the per-day uptime of components up again from their status history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            metavar="YYYY-MM-DD",
            help="Only the days from this one on (in the page's time zone); default: all.",
        )
        parser.add_argument(
            "--component",
            action="append",
            metavar="CODE",
            help="Only this component (repeatable); default: every component.",
        )

    def handle(self, *args: Any, since: str | None, component: list[str] | None, **options: Any):
        try:
            since_day = date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from exc
        components = Component.objects.order_by("pk")
        if component:
            components = components.filter(code__in=component)
            missing = set(component) - set(components.values_list("code", flat=True))
            if missing:
                raise CommandError(f"No component with the code {', '.join(sorted(missing))}.")
        count = rebuild_rollups(components.values_list("pk", flat=True), since=since_day)
        plural = "" if count == 1 else "s"
        self.stdout.write(f"Rolled up the uptime of {count} component{plural}.")
