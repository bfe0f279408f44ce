"""Operator console for the catalogue: groups, components and their status history.

Support staff hold ``change_component_status`` but not ``change_component``: they may move
a component's status (from the list, the change page or a group's page) and nothing else
about it. Every status change goes through ``Component.set_status``, which writes the
history row; what caused a change is shown by the app that records it (incidents adds a
"Caused by" column to the history).
"""

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_http_methods

from components import ordering
from components.models import PAGE_ORDER, Component, ComponentGroup, ComponentStatusChange, Origin

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _CountedGroup(TypedDict):
    """A group as the admin's queryset annotates it."""

    _component_count: int


STATUS_PERMISSION = "components.change_component_status"
RECENT_CHANGES = 5  # shown on a component's page; the rest behind "All status changes"
# Everything about a component but its status: the page owner's, not Support staff's.
DETAIL_FIELDS = [
    "name",
    "group",
    "position",
    "description",
    "showcase",
    "only_show_if_degraded",
    "start_date",
]


def can_edit_fully(request: HttpRequest) -> bool:
    return request.user.has_perm("components.change_component")


def can_change_status(request: HttpRequest) -> bool:
    return can_edit_fully(request) or request.user.has_perm(STATUS_PERMISSION)


def set_status_from(form: ModelForm, request: HttpRequest) -> None:
    """Move an existing component to the status chosen in ``form`` with ``set_status``
    (which writes the history row, naming the operator), before the form's other fields
    are saved."""
    component = form.instance
    if component.pk is not None and "status" in form.changed_data:
        component.set_status(component.status, origin=Origin.operator(request.user))


class ComponentInline(admin.TabularInline):
    """A group's components, editable in place (names, order, flags)."""

    model = Component
    fields = ["name", "status", "position", "showcase", "only_show_if_degraded"]
    extra = 0
    show_change_link = True
    ordering = ["position", "name"]


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "component_count"]
    list_editable = ["position"]
    search_fields = ["name", "description"]
    ordering = ["position", "name"]
    inlines = [ComponentInline]
    change_list_template = "admin/components/componentgroup/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.page_order_view)
        return [
            path("page-order/", view, name="components_page_order"),
            *super().get_urls(),
        ]

    @method_decorator(require_http_methods(["GET", "HEAD", "POST"]))
    def page_order_view(self, request: HttpRequest) -> HttpResponse:
        """The page's items in order, each with "Move up" / "Move down" buttons: groups
        and components outside any group share one order (docs/architecture.md, "Page
        order"), components in a group move within it."""
        if not can_edit_fully(request):
            raise PermissionDenied
        if request.method == "POST":
            # "group:3:up", "component:7:down": what the buttons send.
            kind, pk, direction = [*request.POST.get("move", "").split(":"), "", ""][:3]
            step = {"up": -1, "down": 1}.get(direction)
            if kind not in ("group", "component") or step is None or not pk.isdigit():
                return HttpResponse("Choose an item and a direction.", status=400)
            item: ComponentGroup | Component = (
                get_object_or_404(ComponentGroup, pk=pk)
                if kind == "group"
                else get_object_or_404(Component, pk=pk)
            )
            if ordering.move(item, step):
                self.message_user(request, f"Moved “{item}” {direction}.")
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": "Page order",
            "items": ordering.page_items(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/components/page_order.html", context)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_component_count=Count("components"))

    def save_formset(self, request, form, formset: BaseModelFormSet, change: bool) -> None:
        if formset.model is Component:
            deleted = formset.deleted_forms if formset.can_delete else []
            for component_form in formset.initial_forms:
                if component_form not in deleted:
                    set_status_from(component_form, request)
        super().save_formset(request, form, formset, change)

    @admin.display(description="Components", ordering="_component_count")
    def component_count(self, group: "WithAnnotations[ComponentGroup, _CountedGroup]") -> int:
        return group._component_count


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "status", "position", "showcase", "only_show_if_degraded"]
    # Only the status: it is the one thing Support staff may change, and during an outage
    # the list is the fastest place to do it. Positions are ordered in the group's page.
    list_editable = ["status"]
    list_filter = ["status", "group", "showcase"]
    list_select_related = ["group"]
    search_fields = ["name", "description", "code"]
    ordering = PAGE_ORDER
    readonly_fields = ["code", "recent_changes", "history_link"]
    fieldsets = [
        (None, {"fields": ["name", "status", "group", "position", "description"]}),
        ("Status history", {"fields": ["recent_changes"]}),
        ("Display", {"fields": ["showcase", "only_show_if_degraded", "start_date"]}),
        ("Advanced", {"classes": ["collapse"], "fields": ["code", "history_link"]}),
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        return can_change_status(request)

    def save_model(self, request, obj: Component, form: ModelForm, change: bool) -> None:
        set_status_from(form, request)
        if not change:
            obj.save(origin=Origin.operator(request.user))  # its first history row
        elif set(form.changed_data) - {"status"}:
            super().save_model(request, obj, form, change)  # other fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not can_edit_fully(request):
            # Status-only operators: every other field is shown, not editable.
            readonly += [f for f in DETAIL_FIELDS if f not in readonly]
        return readonly

    @admin.display(description="Latest changes")
    def recent_changes(self, component: Component) -> str:
        """The last few changes and where each came from (the source and who acted)."""
        if component.pk is None:
            return "—"
        changes = component.status_changes.order_by("-at", "-pk")[:RECENT_CHANGES]
        rows = format_html_join(
            "",
            '<li>{}: {} → {} <span class="help">({}{})</span></li>',
            (
                (
                    f"{timezone.localtime(c.at):%Y-%m-%d %H:%M:%S %Z}",
                    Component.Status.label_of(c.old_status, "—"),
                    Component.Status.label_of(c.new_status),
                    c.get_source_display(),
                    f", {c.actor}" if c.actor else "",
                )
                for c in changes
            ),
        )
        return format_html("<ul>{}</ul>", rows) if rows else "—"

    @admin.display(description="Status history")
    def history_link(self, component: Component) -> str:
        if component.pk is None:
            return "—"
        url = reverse("admin:components_componentstatuschange_changelist")
        return format_html(
            '<a href="{}?component__id__exact={}">All status changes</a>', url, component.pk
        )


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(admin.ModelAdmin):
    """The history is evidence (uptime is computed from it): nobody edits it by hand."""

    list_display = ["at", "component", "old_status", "new_status", "source", "actor"]
    list_filter = ["source", "new_status", "component"]
    list_select_related = ["component"]
    date_hierarchy = "at"
    search_fields = ["component__name", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
