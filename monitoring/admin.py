"""The console of automation: integrations and their tokens (a key is shown once, when
made), the payloads received, each component's automation switch and heartbeat (on the
component's own page), and the "Automation" page that shows all of it at once."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from components.admin import ComponentAdmin
from components.models import Component
from monitoring import tokens
from monitoring.models import (
    Alert,
    Automation,
    ComponentAutomation,
    Integration,
    IntegrationToken,
    Payload,
)

# What the Automation page lists.
LATEST_PAYLOADS = 30
LATEST_ERRORS = 10


def _show_key(request: HttpRequest, token: IntegrationToken, key: str) -> None:
    messages.warning(
        request,
        f"Token “{token.name}” of {token.integration.name} created. Its key, shown only "
        f"this once (send it as Authorization: Bearer <key>): {key}",
    )


class IntegrationTokenInline(admin.TabularInline):
    """An integration's tokens, read-only: made with "Add integration token", revoked
    with its action."""

    model = IntegrationToken
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    """Integrations; adding one also makes its first token (the key is shown once)."""

    list_display = ["name", "kind", "notify_subscribers", "active_tokens", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    inlines = [IntegrationTokenInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Integration]:
        return (
            super()
            .get_queryset(request)
            .annotate(_active=Count("tokens", filter=Q(tokens__revoked_at__isnull=True)))
        )

    @admin.display(description="Active tokens", ordering="_active")
    def active_tokens(self, integration: Any) -> int:
        return integration._active

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["kind"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Integration, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            token, key = tokens.create_token(obj, "first")
            _show_key(request, token, key)


class IntegrationTokenCreationForm(forms.ModelForm):
    class Meta:
        model = IntegrationToken
        fields = ["integration", "name"]


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(admin.ModelAdmin):
    """Make tokens (the key is shown once, in the confirmation message) and revoke them."""

    list_display = ["name", "integration", "prefix", "created_at", "last_used_at", "active"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "integration"]
    list_select_related = ["integration"]
    search_fields = ["name", "integration__name", "prefix"]
    readonly_fields = ["integration", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="active", boolean=True, ordering="revoked_at")
    def active(self, token: IntegrationToken) -> bool:
        return token.is_active

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = IntegrationTokenCreationForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["integration", "name"] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # tokens are immutable; revoke and make a new one instead
        token, key = tokens.create_token(
            form.cleaned_data["integration"], form.cleaned_data["name"]
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        _show_key(request, token, key)

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[IntegrationToken]) -> None:
        count = sum(tokens.revoke(token) for token in queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(Payload)
class PayloadAdmin(admin.ModelAdmin):
    """What each integration sent and what it did: a record, not editable."""

    list_display = ["received_at", "integration", "outcome", "short_summary"]
    list_filter = ["outcome", "integration"]
    list_select_related = ["integration"]
    search_fields = ["summary"]
    date_hierarchy = "received_at"
    fields = ["integration", "received_at", "outcome", "summary", "body"]
    readonly_fields = ["integration", "received_at", "outcome", "summary", "body"]

    @admin.display(description="What it did")
    def short_summary(self, payload: Payload) -> str:
        first = payload.summary.splitlines()[0] if payload.summary else ""
        more = " …" if "\n" in payload.summary else ""
        return first[:150] + more

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Automation)
class AutomationAdmin(admin.ModelAdmin):
    """The "Automation" page: integrations with their tokens, the components monitoring
    may not move or that expect heartbeats, the alerts firing now, the latest payloads
    and the latest errors."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # its 403
        payloads = Payload.objects.select_related("integration")
        context = {
            **self.admin_site.each_context(request),
            "title": "Automation",
            "opts": self.model._meta,
            "integrations": Integration.objects.prefetch_related("tokens").order_by("name"),
            "automations": ComponentAutomation.objects.select_related("component")
            .filter(Q(enabled=False) | Q(heartbeat_window__isnull=False))
            .order_by("component__name"),
            "firing": Alert.objects.filter(firing=True)
            .select_related("integration")
            .prefetch_related("components")
            .order_by("name", "fingerprint")[:LATEST_PAYLOADS],
            "payloads": payloads[:LATEST_PAYLOADS],
            "errors": payloads.filter(outcome=Payload.Outcome.REJECTED)[:LATEST_ERRORS],
        }
        return TemplateResponse(request, "admin/monitoring/automation.html", context)


@admin.register(ComponentAutomation)
class ComponentAutomationAdmin(admin.ModelAdmin):
    """Per component: may monitoring move it, and which heartbeat it expects. Linked from
    the component's own page."""

    list_display = [
        "component",
        "enabled",
        "heartbeat_window",
        "heartbeat_status",
        "last_heartbeat_at",
        "heartbeat_failing",
    ]
    list_editable = ["enabled"]
    list_filter = ["enabled", "heartbeat_failing"]
    list_select_related = ["component"]
    search_fields = ["component__name", "component__code"]
    autocomplete_fields = ["component"]
    fields = [
        "component",
        "enabled",
        "heartbeat_window",
        "heartbeat_status",
        "last_heartbeat_at",
        "heartbeat_failing",
        "heartbeat_error",
    ]
    readonly_fields = ["last_heartbeat_at", "heartbeat_failing", "heartbeat_error"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ["component", *self.readonly_fields]
        return self.readonly_fields


class MonitoredComponentAdmin(ComponentAdmin):
    """The components' admin with a link to each one's automation (``components`` knows
    nothing of monitoring, so we register it again, as ``incidents`` does for the
    history)."""

    # Not "automation": that is the reverse relation's name, which the admin would show.
    readonly_fields = [*ComponentAdmin.readonly_fields, "monitoring"]
    fieldsets = [*ComponentAdmin.fieldsets, ("Automation", {"fields": ["monitoring"]})]

    @admin.display(description="Monitoring")
    def monitoring(self, component: Component) -> str:
        if component.pk is None:
            return "—"
        try:
            settings = component.automation
        except ComponentAutomation.DoesNotExist:
            url = reverse("admin:monitoring_componentautomation_add")
            return format_html(
                'Automation on, no heartbeat. <a href="{}?component={}">Change</a>',
                url,
                component.pk,
            )
        url = reverse("admin:monitoring_componentautomation_change", args=[settings.pk])
        window = settings.heartbeat_window
        state = "on" if settings.enabled else "off"
        heartbeat = f"heartbeat every {window}" if window else "no heartbeat"
        if window and settings.heartbeat_failing:
            heartbeat += f" (failing: {settings.heartbeat_error})"
        return format_html('Automation {}, {}. <a href="{}">Change</a>', state, heartbeat, url)


if admin.site.is_registered(Component):
    admin.site.unregister(Component)
admin.site.register(Component, MonitoredComponentAdmin)
