"""What the Statuspage import brought over, for the operator to look up (read only: the
rows are the import's memory of what it wrote; see docs/architecture.md, "Importing from
Statuspage")."""

from django.contrib import admin
from django.http import HttpRequest

from importer.models import ImportedObject


@admin.register(ImportedObject)
class ImportedObjectAdmin(admin.ModelAdmin):
    list_display = ["remote_id", "kind", "code", "source", "updated_at"]
    list_filter = ["kind", "source"]
    search_fields = ["remote_id", "code"]
    readonly_fields = [f.name for f in ImportedObject._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
