import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CHOICES = [
    ("", "Not recorded"),
    ("operator", "Operator"),
    ("api", "API"),
    ("alertmanager", "Alertmanager"),
    ("heartbeat", "Heartbeat"),
    ("import", "Import"),
    ("schedule", "Schedule"),
    ("system", "System"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("components", "0004_page_order"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="componentstatuschange",
            name="actor",
            field=models.CharField(
                blank=True,
                help_text="Who or what acted: a user, a token, an integration.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="componentstatuschange",
            name="detail",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What an automation received (alert, heartbeat).",
            ),
        ),
        # Rows written before sources were recorded say so ('Not recorded'); new rows
        # default to 'system' when the caller names no origin.
        migrations.AddField(
            model_name="componentstatuschange",
            name="source",
            field=models.CharField(blank=True, choices=CHOICES, default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="componentstatuschange",
            name="source",
            field=models.CharField(blank=True, choices=CHOICES, default="system", max_length=16),
        ),
        migrations.AddField(
            model_name="componentstatuschange",
            name="user",
            field=models.ForeignKey(
                blank=True,
                help_text="The person behind the change, if any.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
