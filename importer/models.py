"""What the Statuspage importer brought over: one row per imported object, so that a run
knows what it imported before (see docs/architecture.md, "Importing from Statuspage")."""

from django.db import models


class ImportedObject(models.Model):
    """One object read from a manage API v1 page and written here: the source's id, the
    local row it became and a fingerprint of what was imported.

    A later run skips an object whose fingerprint is unchanged (so it duplicates nothing
    and resumes where an interrupted run stopped), updates one that changed, and never
    writes to a local object that has no row here (it was not imported)."""

    class Kind(models.TextChoices):
        COMPONENT_GROUP = "component_group", "Component group"
        COMPONENT = "component", "Component"
        TEMPLATE = "template", "Incident template"
        INCIDENT = "incident", "Incident or maintenance"
        SUBSCRIBER = "subscriber", "Subscriber"
        INCIDENT_SUBSCRIBER = "incident_subscriber", "Incident subscriber"

    source = models.CharField(
        max_length=500,
        help_text="The page it came from: the API's URL and the page id "
        "(also the actor of the history rows it wrote).",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    remote_id = models.CharField(max_length=200, help_text="The object's id at the source.")
    local_id = models.BigIntegerField(help_text="Primary key of the local row it became.")
    code = models.CharField(max_length=12, blank=True, help_text="The local row's code.")
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the record as imported; unchanged means skipped."
    )
    children = models.JSONField(
        default=list,
        blank=True,
        help_text="Codes of the rows imported with it (an incident's updates).",
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "imported object"
        ordering = ["source", "kind", "remote_id"]
        constraints = [
            # Also the index of "everything a source imported of one kind", read once per
            # phase to compare fingerprints.
            models.UniqueConstraint(
                fields=["source", "kind", "remote_id"],
                name="%(app_label)s_%(class)s_unique_remote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.remote_id} from {self.source}"
