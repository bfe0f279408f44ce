# Copy ComponentStatusChange.incident_update into StatusChangeCause rows (and back when
# unapplied), before components 0003 drops the column. Batched: a large history does not
# have to fit in memory.

from django.db import migrations

BATCH = 2000


def copy_links(apps, schema_editor):
    Change = apps.get_model('components', 'ComponentStatusChange')
    Cause = apps.get_model('incidents', 'StatusChangeCause')
    db = schema_editor.connection.alias
    links = (
        Change.objects.using(db)
        .filter(incident_update__isnull=False)
        .order_by('pk')
        .values_list('pk', 'incident_update_id')
    )
    batch = []
    for change_id, update_id in links.iterator(chunk_size=BATCH):
        batch.append(Cause(status_change_id=change_id, incident_update_id=update_id))
        if len(batch) >= BATCH:
            Cause.objects.using(db).bulk_create(batch)
            batch = []
    Cause.objects.using(db).bulk_create(batch)


def copy_links_back(apps, schema_editor):
    Change = apps.get_model('components', 'ComponentStatusChange')
    Cause = apps.get_model('incidents', 'StatusChangeCause')
    db = schema_editor.connection.alias
    causes = Cause.objects.using(db).order_by('pk').values_list('pk', 'incident_update_id')
    for change_id, update_id in causes.iterator(chunk_size=BATCH):
        Change.objects.using(db).filter(pk=change_id).update(incident_update_id=update_id)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0005_statuschangecause'),
    ]
    # components must not depend on incidents: instead of components 0003 waiting for
    # this copy, this copy declares that it runs first.
    run_before = [
        ('components', '0003_remove_componentstatuschange_incident_update'),
    ]

    operations = [
        migrations.RunPython(copy_links, copy_links_back, elidable=True),
    ]
