"""The operator console for incidents, maintenance, postmortems and templates.

Built for use during an outage: the incident page opens on "Post an update", the list
shows what is unresolved, and every write goes through ``incidents.services`` (the same
functions the API and the scheduler call). When a service refuses (a ValidationError or
ConflictError), the form shows why and nothing is saved.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Prefetch
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from components.models import Component
from incidents import services, status_history_admin  # noqa: F401 (registers the history)
from incidents.admin_hooks import annotate_updates
from incidents.forms import (
    INCIDENT_DETAIL_FIELDS,
    MAINTENANCE_DETAIL_FIELDS,
    IncidentForm,
    Outcome,
    PostmortemForm,
)
from incidents.models import Incident, IncidentTemplate, IncidentUpdate, Maintenance, Postmortem
from statusportal.markdown import render_markdown

ComponentStatus = Component.Status


class ServiceRefused(Exception):
    """Raised out of save_model to abort the admin's transaction; carries the service's
    error so that the form can be shown again with it."""

    def __init__(self, error: ValidationError):
        super().__init__(error)
        self.error = error


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Unresolved / not completed"), ("closed", "Resolved / completed")]

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


class TimelineFormSet(BaseInlineFormSet):
    """The posted updates, newest first, each carrying what the page shows beside it:
    the component changes it made and the plug-ins' annotations (admin_hooks)."""

    def get_queryset(self):
        if not hasattr(self, "_timeline"):
            updates = list(super().get_queryset().select_related("author"))
            notes = annotate_updates(updates)
            for update in updates:
                update.admin_annotations = notes.get(update.pk, [])
                update.admin_body_html = render_markdown(update.body)
                update.admin_changes = [
                    {
                        "name": entry.get("name", entry.get("code")),
                        "old": _status_label(entry.get("old_status")),
                        "new": _status_label(entry.get("new_status")),
                        "changed": entry.get("old_status") != entry.get("new_status"),
                    }
                    for entry in update.affected_components or ()
                ]
            self._timeline = updates
        return self._timeline


def short_time(value) -> str:
    """``2026-11-23 14:05``: compact enough for a list column, in the admin's time zone."""
    if value is None:
        return "—"
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def _status_label(value: str | None) -> str:
    if value in ComponentStatus.values:
        return ComponentStatus(value).label
    return value or "—"


class TimelineInline(admin.StackedInline):
    """Posted updates. Only the text of a body can be corrected (a typo); that saves the
    body alone and never posts or notifies again."""

    model = IncidentUpdate
    formset = TimelineFormSet
    fields = ["body"]
    extra = 0
    can_delete = False
    verbose_name_plural = "Timeline"
    template = "admin/incidents/incident/timeline.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # updates are posted with the form above, through the service

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentForm
    kind = Incident.Kind.INCIDENT
    change_form_template = "admin/incidents/incident/change_form.html"
    change_list_template = "admin/incidents/incident/change_list.html"
    list_display = [
        "name",
        "kind",
        "status_badge",
        "impact_badge",
        "affected_components",
        "started",
        "last_update",
    ]
    list_filter = [OpenFilter, "kind", "impact", "started_at"]
    search_fields = ["name", "updates__body"]
    search_help_text = "Search incident names and the text of their updates."
    ordering = ["-started_at", "-pk"]
    actions = ["resolve_selected"]
    inlines = [TimelineInline]
    list_per_page = 50

    # -- list ------------------------------------------------------------------------
    def get_queryset(self, request):
        # A fixed number of queries for the list: last update by aggregate, components
        # by one prefetch.
        return (
            super()
            .get_queryset(request)
            .annotate(last_update_at=Max("updates__display_at"))
            .prefetch_related(
                Prefetch(
                    "components",
                    queryset=Component.objects.only("pk", "name", "position").order_by(
                        "position", "name"
                    ),
                )
            )
        )

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
    def last_update(self, incident: Incident) -> str:
        return short_time(incident.last_update_at)

    @admin.action(description="Resolve selected incidents", permissions=["resolve"])
    def resolve_selected(self, request, queryset):
        try:
            with transaction.atomic():
                count = services.resolve_many(queryset, author=request.user)
        except ValidationError as exc:
            self.message_user(
                request, f"Nothing resolved: {' '.join(exc.messages)}", messages.ERROR
            )
            return
        skipped = queryset.count() - count
        text = f"Resolved {count} incident{'s' if count != 1 else ''}."
        if skipped:
            text += f" {skipped} already closed, left as they were."
        self.message_user(request, text, messages.SUCCESS)

    def has_resolve_permission(self, request) -> bool:
        return request.user.has_perm("incidents.resolve_incident")

    # -- change form -----------------------------------------------------------------
    def kind_of(self, obj) -> str:
        return obj.kind if obj is not None else self.kind

    def get_fieldsets(self, request, obj=None):
        if self.kind_of(obj) == Incident.Kind.MAINTENANCE:
            if obj is None:
                return [
                    (None, {"fields": ["name"]}),
                    ("Schedule", {"fields": MAINTENANCE_DETAIL_FIELDS[1:]}),
                ]
            return [("Details and schedule", {"fields": MAINTENANCE_DETAIL_FIELDS})]
        if obj is None:
            return [
                (None, {"fields": ["name"]}),
                ("Advanced", {"classes": ["collapse"], "fields": ["impact_override"]}),
            ]
        return [("Details", {"classes": ["collapse"], "fields": INCIDENT_DETAIL_FIELDS})]

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        attrs = {
            "request": request,
            "kind": self.kind_of(obj),
            "service_error": getattr(request, "_incident_service_error", None),
        }
        return type(form.__name__, (form,), attrs)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # super() ran in a transaction that the exception rolled back: nothing was
            # saved. Validate the same POST again, this time with the service's error.
            request._incident_service_error = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        try:
            if change:
                outcome = form.apply(author=request.user)
            else:
                incident, outcome = form.open(author=request.user)
                obj.pk = incident.pk
                obj._state.adding = False
                obj.refresh_from_db()
        except ValidationError as exc:
            raise ServiceRefused(exc) from exc
        request._incident_outcome = outcome

    def save_related(self, request, form, formsets, change):
        # The incident's components move only through the service; nothing else here.
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not IncidentUpdate:
            return super().save_formset(request, form, formset, change)
        # Body corrections: save the body alone, with no signal of a new update, so
        # that nobody is notified again.
        formset.new_objects, formset.deleted_objects, formset.changed_objects = [], [], []
        for update_form in formset.initial_forms:
            if update_form.has_changed():
                update = update_form.instance
                update.save(update_fields=["body", "updated_at"])
                formset.changed_objects.append((update, ["body"]))
        outcome = getattr(request, "_incident_outcome", None)
        if outcome is not None:
            outcome.corrected_bodies = len(formset.changed_objects)

    def _outcome_message(self, request) -> str:
        outcome: Outcome = getattr(request, "_incident_outcome", None) or Outcome()
        return outcome.message()

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, self._outcome_message(request), messages.SUCCESS)
        opts = self.opts
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        return HttpResponseRedirect(url)

    def response_change(self, request, obj):
        # Stay on the incident: the operator sees the new update in the timeline.
        self.message_user(request, self._outcome_message(request), messages.SUCCESS)
        return HttpResponseRedirect(request.get_full_path())

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        context.update(
            {
                "incident_form": form,
                "status_choices": ComponentStatus.choices,
                "closing_statuses": [s.value for s in Incident.CLOSED_STATUSES],
                "starting_statuses": [s.value for s in Incident.ACTIVE_MAINTENANCE_STATUSES],
                "postmortem_url": None
                if obj is None or obj.is_maintenance
                else reverse("admin:incidents_incident_postmortem", args=[obj.pk]),
                "postmortem": getattr(obj, "postmortem", None) if obj is not None else None,
                # One clear way to save: "Post update" (or "Save") stays on the incident.
                "show_save_and_add_another": False,
                "show_save_and_continue": False,
            }
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- postmortem ------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<path:object_id>/postmortem/",
                self.admin_site.admin_view(self.postmortem_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_postmortem",
            ),
            *super().get_urls(),
        ]

    def postmortem_view(self, request: HttpRequest, object_id: str):
        """Write a draft, preview it rendered, publish it (optionally notifying)."""
        user = request.user
        if not user.has_perm("incidents.view_postmortem"):
            raise PermissionDenied
        can_edit = user.has_perm("incidents.change_postmortem") and user.has_perm(
            "incidents.add_postmortem"
        )
        incident = get_object_or_404(Incident, pk=object_id)
        postmortem = Postmortem.objects.filter(incident=incident).first()
        preview = None
        if request.method == "POST":
            if not can_edit:
                raise PermissionDenied
            form = PostmortemForm(request.POST)
            if form.is_valid():
                body, notify = form.cleaned_data["body"], form.cleaned_data["notify"]
                if "_preview" in request.POST:
                    preview = render_markdown(body)
                else:
                    publish = "_publish" in request.POST
                    try:
                        with transaction.atomic():
                            services.save_postmortem_draft(incident, body=body, author=user)
                            if publish:
                                services.publish_postmortem(incident, notify=notify, author=user)
                    except ValidationError as exc:
                        for err in exc.messages:
                            form.add_error(None, err)
                    else:
                        if publish:
                            text = "Postmortem published" + (
                                "; subscribers will be notified." if notify else "."
                            )
                        else:
                            text = "Postmortem saved" + (
                                "." if postmortem and postmortem.is_published else " as a draft."
                            )
                        self.message_user(request, text, messages.SUCCESS)
                        return HttpResponseRedirect(request.path)
        else:
            form = PostmortemForm(initial={"body": postmortem.body if postmortem else ""})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Postmortem: {incident.name}",
            "incident": incident,
            "postmortem": postmortem,
            "form": form,
            "preview": preview,
            "can_edit": can_edit,
            "can_publish": incident.is_closed and not (postmortem and postmortem.is_published),
        }
        return TemplateResponse(request, "admin/incidents/incident/postmortem.html", context)


@admin.register(Maintenance)
class MaintenanceAdmin(IncidentAdmin):
    """Scheduled maintenance: the same page as incidents, with the schedule up front."""

    kind = Incident.Kind.MAINTENANCE
    list_display = [
        "name",
        "status_badge",
        "window",
        "affected_components",
        "auto_start",
        "auto_complete",
    ]
    list_filter = [OpenFilter, MaintenanceStatusFilter, "scheduled_for"]
    ordering = ["-scheduled_for", "-pk"]
    actions = ["complete_selected"]

    def get_urls(self):
        return admin.ModelAdmin.get_urls(self)  # no postmortems for maintenance

    @admin.display(description="Window", ordering="scheduled_for")
    def window(self, maintenance: Incident) -> str:
        return (
            f"{short_time(maintenance.scheduled_for)} → {short_time(maintenance.scheduled_until)}"
        )

    @admin.action(description="Complete selected maintenance", permissions=["resolve"])
    def complete_selected(self, request, queryset):
        self.resolve_selected(request, queryset)


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

    def has_add_permission(self, request) -> bool:
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
