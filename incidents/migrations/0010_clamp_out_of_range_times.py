"""Times and durations stored before the input rules existed (statusportal.limits) are
brought into the accepted range, so that no page, admin view or scheduler run meets one
it cannot handle: a time before 1970 (Go's zero time from a buggy script, year 1) becomes
the moment the row was written, and a reminder longer than the longest accepted one is
cut to it (docs/architecture.md, "Hostile input and access")."""

from django.db import migrations
from django.db.models import F

from statusportal.limits import EARLIEST, MAX_REMIND_BEFORE

INCIDENT_TIMES = ["started_at", "monitoring_at", "resolved_at", "scheduled_for", "scheduled_until"]


def clamp(apps, schema_editor):
    Incident = apps.get_model("incidents", "Incident")
    IncidentUpdate = apps.get_model("incidents", "IncidentUpdate")
    IncidentUpdate.objects.filter(display_at__lt=EARLIEST).update(display_at=F("created_at"))
    for name in INCIDENT_TIMES:
        Incident.objects.filter(**{f"{name}__lt": EARLIEST}).update(**{name: F("created_at")})
    Incident.objects.filter(remind_before__gt=MAX_REMIND_BEFORE).update(
        remind_before=MAX_REMIND_BEFORE
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0009_postmortem_body_html"),
    ]

    operations = [
        migrations.RunPython(clamp, migrations.RunPython.noop, elidable=True),
    ]
