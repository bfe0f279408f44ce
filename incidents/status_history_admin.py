"""The component status history in the console, with the incident update that caused each
change.

``components`` registers the history's admin without knowing incidents; the cause is ours
(``StatusChangeCause``), so we register the history again with a "Caused by" column, the
way a project extends ``UserAdmin``. Imported by ``incidents.admin``.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from components.admin import ComponentStatusChangeAdmin
from components.models import ComponentStatusChange
from incidents.models import StatusChangeCause


class StatusHistoryAdmin(ComponentStatusChangeAdmin):
    list_display = [*ComponentStatusChangeAdmin.list_display, "caused_by"]
    # One query for the page: the cause, its update and its incident come with each row.
    list_select_related = [
        *ComponentStatusChangeAdmin.list_select_related,
        "cause__incident_update__incident",
    ]

    @admin.display(description="Caused by")
    def caused_by(self, change: ComponentStatusChange) -> str:
        try:
            update = change.cause.incident_update
        except StatusChangeCause.DoesNotExist:
            return "—"
        url = reverse("admin:incidents_incident_change", args=[update.incident_id])
        return format_html(
            '<a href="{}">{}</a> ({})', url, update.incident.name, update.get_status_display()
        )


if admin.site.is_registered(ComponentStatusChange):
    admin.site.unregister(ComponentStatusChange)
admin.site.register(ComponentStatusChange, StatusHistoryAdmin)
