# The cause of a status change is now recorded by incidents (incidents 0005/0006, which
# copy the links and declare that they run before this migration).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('components', '0002_initial'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='componentstatuschange',
            name='incident_update',
        ),
    ]
