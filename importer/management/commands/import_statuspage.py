"""``manage.py import_statuspage``: bring a whole page over from a server that speaks
Statuspage's manage API v1 (see README, "Bringing your history over")."""

import io
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from importer.client import ApiError, ManageClient
from importer.pipeline import PHASES, Importer, Report


class Command(BaseCommand):
    help = (
        "Import component groups, components, incident templates, every incident and "
        "maintenance with its updates and postmortem, the components' status history and "
        "the email subscribers of a Statuspage page (or of any server speaking its manage "
        "API v1). Emails nobody. Safe to run again: it updates what changed and resumes "
        "an interrupted import."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="https://api.statuspage.io/v1",
            help="The manage API's base URL (default https://api.statuspage.io/v1).",
        )
        parser.add_argument("--page-id", required=True, help="The page's id at the source.")
        parser.add_argument("--api-key", required=True, help="An API key of the page's owner.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read and check everything, report what would change, write nothing.",
        )
        parser.add_argument(
            "--retries",
            type=int,
            default=5,
            help="How often to retry a request that failed or was rate limited (default 5).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = ManageClient(
            options["url"], options["page_id"], options["api_key"], retries=options["retries"]
        )
        console = Console(stderr=True)
        progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not sys.stderr.isatty(),
        )
        importer = Importer(client, dry_run=options["dry_run"], progress=progress)
        try:
            with progress:
                report = importer.run()
        except (ApiError, KeyboardInterrupt) as exc:
            self._summary(importer.report, dry_run=options["dry_run"])
            reason = str(exc) if isinstance(exc, ApiError) else "Interrupted."
            raise CommandError(
                f"{reason} Stopped; what was imported so far is complete. Run the same "
                "command again to resume."
            ) from None
        finally:
            client.close()
        self._summary(report, dry_run=options["dry_run"])
        if report.failed:
            raise CommandError(
                f"{report.failed} object(s) could not be imported (listed above); the rest "
                "was. Fix them at the source and run again."
            )

    def _summary(self, report: Report, *, dry_run: bool) -> None:
        title = "Dry run: what the import would do" if dry_run else "Import summary"
        table = Table(title=title)
        created = "would create" if dry_run else "created"
        updated = "would update" if dry_run else "updated"
        for column in ("", created, updated, "unchanged", "skipped", "failed"):
            table.add_column(column, justify="left" if not column else "right")
        for key, label in PHASES:
            tally = report.tallies[key]
            table.add_row(
                label,
                *(
                    str(n)
                    for n in (
                        tally.created,
                        tally.updated,
                        tally.unchanged,
                        tally.skipped,
                        tally.failed,
                    )
                ),
            )
        out = io.StringIO()
        Console(file=out, width=100, color_system=None).print(table)
        self.stdout.write(out.getvalue(), ending="")
        for note in report.notes:
            self.stdout.write(f"Note: {note}")
        for problem in report.problems:
            self.stderr.write(f"Not imported: {problem}")
