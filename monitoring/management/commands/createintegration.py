"""``manage.py createintegration KIND NAME``: make an integration (or reuse it) and a
token for it; the key is printed on the last line."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from monitoring import tokens
from monitoring.models import Integration


class Command(BaseCommand):
    help = (
        "Create an integration of KIND (alertmanager, heartbeat) named NAME, or add a token "
        "to the existing one, and print the token's key (shown only this once) on the "
        "last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=Integration.Kind.values)
        parser.add_argument("name")
        parser.add_argument("--token-name", default="cli", help="What the token is for.")
        parser.add_argument(
            "--notify",
            action="store_true",
            help="Incidents it opens notify subscribers (new integrations only).",
        )

    @transaction.atomic
    def handle(self, *args, kind: str, name: str, token_name: str, notify: bool, **options):
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("Give the integration a name of at most 100 characters.")
        token_name = token_name.strip()
        if not token_name or len(token_name) > 100:
            raise CommandError("Give the token a name of at most 100 characters.")
        integration, created = Integration.objects.get_or_create(
            name=name, defaults={"kind": kind, "notify_subscribers": notify}
        )
        if integration.kind != kind:
            raise CommandError(
                f"{name!r} is already a {integration.get_kind_display()} integration."
            )
        token, key = tokens.create_token(integration, token_name)
        what = "Created" if created else "Found"
        self.stderr.write(
            f"{what} integration {integration}; made token {token.name!r}. Store the key "
            "now: it is not kept and cannot be shown again."
        )
        # Only the key on stdout, on its own last line: KEY=$(manage.py createintegration …)
        self.stdout.write(key)
