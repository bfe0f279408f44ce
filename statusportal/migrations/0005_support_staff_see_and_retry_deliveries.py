from django.db import migrations


def sync_group(apps, schema_editor):
    from statusportal.roles import sync_support_staff_group

    sync_support_staff_group(apps)


class Migration(migrations.Migration):
    """Support staff see deliveries and retry failed ones (``statusportal.roles``)."""

    dependencies = [
        ("statusportal", "0004_ratelimit_cache_table"),
        ("subscriptions", "0002_delivery_flight_index"),
    ]

    operations = [migrations.RunPython(sync_group, migrations.RunPython.noop)]
