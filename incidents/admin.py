"""The operator console for incidents, maintenance, postmortems and templates.

Built for use during an outage: the list shows what is unresolved and its names open each
incident on "Post an update"; the add page opens an incident with its first update. Those
pages, the correction of a posted text and the postmortem editor are plain form views in
``incidents.admin_views``; the change page edits only the incident's own details. Every
write goes through ``incidents.services`` (the same functions the API and the scheduler
call). See docs/architecture.md, 'The operator console'.
"""

from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Max, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from components.models import PAGE_ORDER, Component
from incidents import admin_bulk, admin_views, services, status_history_admin  # noqa: F401 (registers the history)
from incidents.models import Incident, IncidentTemplate, Maintenance, Postmortem
from incidents.widgets import ReminderField
from statusportal.timefmt import localize

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups, _FieldsetSpec
    from django_stubs_ext import WithAnnotations


class _ListedIncident(TypedDict):
    """An incident as the list's queryset annotates it."""

    last_update_at: datetime | None


class OpenFilter(admin.SimpleListFilter):
    """Unresolved / closed / all. The list opens on the unresolved ones (what an operator
    wants during an outage) unless a search looks through everything."""

    title = "state"
    parameter_name = "state"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        if self.used_parameters.get(self.parameter_name) is None and not request.GET.get("q"):
            self.used_parameters[self.parameter_name] = "open"

    def lookups(self, request, model_admin):
        return [
            ("open", "Unresolved / not completed"),
            ("closed", "Resolved / completed"),
            ("all", "All"),
        ]

    def choices(self, changelist):
        # No "All" link that drops the parameter: without it the list shows the open ones.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(Incident.open_filter())
        if self.value() == "closed":
            return queryset.exclude(Incident.open_filter())
        return queryset


class MaintenanceStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(s.value, s.label) for s in Incident.MAINTENANCE_STATUSES]

    def queryset(self, request, queryset):
        if self.value() in Incident.MAINTENANCE_STATUSES:
            return queryset.filter(status=self.value())
        return queryset


# The incident's own details, edited on the change page (and given on the add page);
# status, components and timestamps move only by posting updates.
INCIDENT_FIELDSETS: "_FieldsetSpec" = [
    (None, {"fields": ["name"]}),
    ("Advanced", {"classes": ["collapse"], "fields": ["impact_override"]}),
]
SCHEDULE: "_FieldGroups" = [
    "scheduled_for",
    "scheduled_until",
    "auto_start",
    "auto_complete",
    "remind_before",
]
MAINTENANCE_FIELDSETS: "_FieldsetSpec" = [
    (None, {"fields": ["name"]}),
    ("Schedule", {"fields": SCHEDULE}),
]


def short_time(value) -> str:
    """``14:05`` today, ``Nov 23 14:05`` this year, ``2025-11-23 14:05`` before: compact
    enough for a list column, in the admin's time zone."""
    if value is None:
        return "—"
    # localize: a time stored before the input rules (year 1) has no local time west of UTC.
    local, today = localize(value, timezone.get_current_timezone()), timezone.localdate()
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local:%b %d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    kind = Incident.Kind.INCIDENT
    change_form_template = "admin/incidents/incident/change_form.html"
    change_list_template = "admin/incidents/incident/change_list.html"
    # Five columns, so that the list fits 1,280 px beside the admin's two sidebars: the
    # kind is a tag on maintenance names, the impact a badge beside the status.
    list_display = [
        "name_link",
        "state_badges",
        "affected_components",
        "started",
        "last_update",
    ]
    # The name column links to "Post an update", the page an operator wants at 3 a.m.
    list_display_links = None
    list_filter = [OpenFilter, "kind", "impact", "started_at"]
    search_fields = ["name", "updates__body"]
    search_help_text = "Search incident names and the text of their updates."
    ordering = ["-started_at", "-pk"]
    actions = ["resolve_selected"]
    list_per_page = 50
    fieldsets = INCIDENT_FIELDSETS

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        # A fixed number of queries for the list: last update by aggregate, components
        # by one prefetch.
        return (
            super()
            .get_queryset(request)
            .annotate(last_update_at=Max("updates__display_at"))
            .prefetch_related(
                Prefetch(
                    "components",
                    queryset=Component.objects.order_by(*PAGE_ORDER).only("pk", "name"),
                )
            )
        )

    # -- list columns -------------------------------------------------------------------
    @admin.display(description="Name", ordering="name")
    def name_link(self, incident: Incident) -> str:
        url = admin_views.admin_url(self, "post", incident.pk)
        link = format_html('<a href="{}">{}</a>', url, incident.name)
        if incident.is_maintenance and self.kind != Incident.Kind.MAINTENANCE:
            return format_html('{} <span class="kind-tag">maintenance</span>', link)
        return link

    @admin.display(description="Status · impact", ordering="status")
    def state_badges(self, incident: Incident) -> str:
        return format_html("{} {}", self.status_badge(incident), self.impact_badge(incident))

    @admin.display(description="Affected components")
    def affected_components(self, incident: Incident) -> str:
        return ", ".join(c.name for c in incident.components.all()) or "—"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, incident: Incident) -> str:
        return format_html(
            '<span class="badge status-{}">{}</span>',
            incident.status,
            incident.get_status_display(),
        )

    @admin.display(description="Impact", ordering="impact")
    def impact_badge(self, incident: Incident) -> str:
        return format_html(
            '<span class="badge impact-{}">{}</span>',
            incident.impact,
            incident.get_impact_display(),
        )

    @admin.display(description="Started", ordering="started_at")
    def started(self, incident: Incident) -> str:
        return short_time(incident.started_at)

    @admin.display(description="Last update", ordering="last_update_at")
    def last_update(self, incident: "WithAnnotations[Incident, _ListedIncident]") -> str:
        return short_time(incident.last_update_at)

    # -- actions ------------------------------------------------------------------------
    @admin.action(description="Resolve selected incidents…", permissions=["resolve"])
    def resolve_selected(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        # A confirmation page first: message, notify choice, what will happen.
        return admin_bulk.bulk_resolve(self, request, queryset)

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("incidents.resolve_incident")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "remind_before":
            # Presets (15 min, 1 h, 1 day) instead of typing "01:00:00".
            return ReminderField(help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    # -- details (the change page) ------------------------------------------------------
    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None):
        # The incident list holds maintenance too: its details are its schedule.
        if obj is not None and obj.is_maintenance:
            return MAINTENANCE_FIELDSETS
        return super().get_fieldsets(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        # Only the change page saves through here (the add page is admin_views').
        services.save_details(obj, form.changed_data)

    def response_post_save_change(self, request, obj) -> HttpResponseRedirect:
        # Back to the incident's page rather than the list.
        return HttpResponseRedirect(admin_views.admin_url(self, "post", obj.pk))

    # -- the pages of admin_views ---------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/post/", wrap(self.post_view), name=f"{info}_post"),
            path(
                "<path:object_id>/updates/<int:update_id>/correct/",
                wrap(self.correct_view),
                name=f"{info}_correct",
            ),
            *self.extra_urls(info),
            *super().get_urls(),
        ]

    def extra_urls(self, info: str) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/postmortem/",
                wrap(self.postmortem_view),
                name=f"{info}_postmortem",
            )
        ]

    def incident_or_404(self, request: HttpRequest, object_id: str) -> Incident:
        incident = self.get_object(request, unquote(object_id))
        if incident is None:
            raise Http404(f"No {self.opts.verbose_name} with id “{object_id}”.")
        return incident

    def add_view(self, request: HttpRequest, form_url="", extra_context=None) -> HttpResponse:
        return admin_views.post_update_view(self, request, None)

    def post_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return admin_views.post_update_view(self, request, self.incident_or_404(request, object_id))

    def correct_view(self, request: HttpRequest, object_id: str, update_id: int) -> HttpResponse:
        incident = self.incident_or_404(request, object_id)
        return admin_views.correct_view(self, request, incident, update_id)

    def postmortem_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return admin_views.postmortem_view(self, request, self.incident_or_404(request, object_id))


@admin.register(Maintenance)
class MaintenanceAdmin(IncidentAdmin):
    """Scheduled maintenance: the same pages as incidents, with the schedule up front."""

    kind = Incident.Kind.MAINTENANCE
    list_display = [
        "name_link",
        "status_badge",
        "window",
        "affected_components",
        "auto_start",
        "auto_complete",
    ]
    list_filter = [OpenFilter, MaintenanceStatusFilter, "scheduled_for"]
    ordering = ["-scheduled_for", "-pk"]
    actions = ["complete_selected"]
    fieldsets = MAINTENANCE_FIELDSETS

    def extra_urls(self, info: str) -> list[URLPattern]:
        return []  # no postmortems for maintenance

    @admin.display(description="Window", ordering="scheduled_for")
    def window(self, maintenance: Incident) -> str:
        return (
            f"{short_time(maintenance.scheduled_for)} → {short_time(maintenance.scheduled_until)}"
        )

    @admin.action(description="Complete selected maintenance…", permissions=["resolve"])
    def complete_selected(
        self, request: HttpRequest, queryset: QuerySet[Incident]
    ) -> HttpResponse | None:
        return admin_bulk.bulk_resolve(self, request, queryset)


@admin.register(Postmortem)
class PostmortemAdmin(admin.ModelAdmin):
    """The list of postmortems; each is written on its incident's postmortem page."""

    list_display = ["incident", "state", "published_at", "notify_subscribers", "updated_at"]
    list_select_related = ["incident"]
    list_filter = [("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["incident__name", "body"]

    @admin.display(description="State")
    def state(self, postmortem: Postmortem) -> str:
        return "Published" if postmortem.is_published else "Draft"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from the incident's page

    def change_view(self, request, object_id, form_url="", extra_context=None):
        postmortem = get_object_or_404(Postmortem, pk=object_id)
        url = reverse("admin:incidents_incident_postmortem", args=[postmortem.incident_id])
        return HttpResponseRedirect(url)


@admin.register(IncidentTemplate)
class IncidentTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "status", "component_status", "use"]
    search_fields = ["name", "title", "body"]
    filter_horizontal = ["components"]
    fieldsets = [
        (None, {"fields": ["name", "title", "status", "body"]}),
        ("Components", {"fields": ["components", "component_status"]}),
    ]

    @admin.display(description="Open an incident")
    def use(self, template: IncidentTemplate) -> str:
        url = reverse("admin:incidents_incident_add")
        return format_html('<a href="{}?template={}">Use this template</a>', url, template.pk)
