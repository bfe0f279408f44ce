from django.db import migrations, models

import statusportal.codes


def give_codes(apps, schema_editor):
    IncidentTemplate = apps.get_model("incidents", "IncidentTemplate")
    for template in IncidentTemplate.objects.filter(code__isnull=True):
        template.code = statusportal.codes.new_code()
        template.save(update_fields=["code"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_planned_statuses"),
    ]

    operations = [
        migrations.AddField(
            model_name="incidenttemplate",
            name="code",
            field=models.CharField(editable=False, max_length=12, null=True),
        ),
        migrations.RunPython(give_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="incidenttemplate",
            name="code",
            field=statusportal.codes.CodeField(
                default=statusportal.codes.new_code,
                editable=False,
                help_text="Public identifier used in URLs and the API.",
                max_length=12,
                unique=True,
            ),
        ),
    ]
