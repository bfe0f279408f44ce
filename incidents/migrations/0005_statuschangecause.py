# The link from a component status change to the incident update that caused it moves
# from components (ComponentStatusChange.incident_update) to incidents. Three steps, each
# its own transaction: create this table, copy the links (0006), then components drops its
# column (components 0003, which 0006 runs before).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('components', '0002_initial'),
        ('incidents', '0004_incident_resolved_at_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='StatusChangeCause',
            fields=[
                ('status_change', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='cause', serialize=False, to='components.componentstatuschange')),
                ('incident_update', models.ForeignKey(help_text='The update whose posting changed the status.', on_delete=django.db.models.deletion.CASCADE, related_name='status_change_causes', to='incidents.incidentupdate')),
            ],
            options={
                'verbose_name': 'status change cause',
                'ordering': ['-pk'],
            },
        ),
    ]
