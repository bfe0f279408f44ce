"""Postmortem.body_html: the body rendered once when written (see Postmortem.render_body),
filled here for the postmortems that already exist."""

from django.db import migrations, models

from statusportal.markdown import render_markdown


def render_existing_bodies(apps, schema_editor):
    # The historical model has no custom save(); render with the same function it uses.
    Postmortem = apps.get_model("incidents", "Postmortem")
    for postmortem in Postmortem.objects.only("pk", "body").order_by("pk").iterator():
        postmortem.body_html = render_markdown(postmortem.body)
        postmortem.save(update_fields=["body_html"])


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_incidenttemplate_code"),
    ]

    operations = [
        migrations.AddField(
            model_name="postmortem",
            name="body_html",
            field=models.TextField(
                blank=True,
                default="",
                editable=False,
                help_text="The body rendered and sanitised, written by save() whenever the "
                "body is.",
            ),
        ),
        migrations.RunPython(render_existing_bodies, migrations.RunPython.noop, elidable=True),
    ]
