"""The database cache table of the rate-limit counters (used when no Redis is configured;
created always, so that switching Redis off later needs no step)."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "statusportal_ratelimit"


def create_table(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("statusportal", "0003_api_tokens_idempotency")]

    operations = [migrations.RunPython(create_table, drop_table)]
