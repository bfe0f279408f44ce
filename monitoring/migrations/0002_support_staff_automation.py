from django.db import migrations


def sync_group(apps, schema_editor):
    from statusportal.roles import sync_support_staff_group

    sync_support_staff_group(apps)


class Migration(migrations.Migration):
    """Support staff see automation and switch it per component (``statusportal.roles``)."""

    dependencies = [
        ("monitoring", "0001_automation"),
        ("statusportal", "0005_support_staff_see_and_retry_deliveries"),
    ]

    operations = [migrations.RunPython(sync_group, migrations.RunPython.noop)]
