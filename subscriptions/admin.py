"""Operator console for subscribers and deliveries."""

import functools

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from components.models import Component
from subscriptions import delivery, monitoring, services
from subscriptions.models import Delivery, NotificationEvent, Subscriber


class FollowsComponentFilter(admin.SimpleListFilter):
    """Subscribers who hear about a component: everything-subscribers, its followers and
    the followers of its group."""

    title = "follows component"
    parameter_name = "component"

    def lookups(self, request, model_admin):
        return [(c.code, c.name) for c in Component.objects.all()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        component = Component.objects.filter(code=self.value()).first()
        if component is None:
            return queryset.none()
        return queryset.filter(
            Q(all_components=True)
            | Q(components=component)
            | Q(groups__isnull=False, groups=component.group_id)
        ).distinct()


class CSVImportForm(forms.Form):
    file = forms.FileField(
        help_text="UTF-8 CSV with an “email” column and optionally “components” (codes or "
        "names separated by “;”; empty means everything). Imported addresses are active "
        "at once: only import people who confirmed on your previous status page."
    )


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "address",
        "channel",
        "state",
        "scope",
        "hard_bounces",
        "created_at",
        "confirmed_at",
    ]
    list_filter = ["channel", "state", FollowsComponentFilter, "all_components"]
    search_fields = ["email", "endpoint", "code"]
    readonly_fields = ["code", "created_at", "confirmed_at", "unsubscribed_at", "updated_at"]
    filter_horizontal = ["components", "groups"]
    raw_id_fields = ["incidents"]
    actions = [
        "send_test",
        "resend_confirmation",
        "quarantine",
        "reactivate",
        "rotate_token",
        "export_csv",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "channel",
                    "email",
                    "endpoint",
                    "state",
                    "all_components",
                    "components",
                    "groups",
                ]
            },
        ),
        ("Incidents followed", {"fields": ["incidents"]}),
        (
            "Advanced",
            {
                "classes": ["collapse"],
                "fields": [
                    "code",
                    "hard_bounces",
                    "created_at",
                    "confirmed_at",
                    "unsubscribed_at",
                    "updated_at",
                ],
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("components", "groups")

    @admin.display(description="Address or endpoint", ordering="email")
    def address(self, obj: Subscriber) -> str:
        if obj.channel == Subscriber.Channel.WEBHOOK:
            return f"{obj.endpoint} (contact {obj.email})"
        return obj.address

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and obj.channel == Subscriber.Channel.WEBHOOK:
            # The one time the operator sees it: to hand to the receiver's owner.
            self.message_user(request, f"Signing secret of this webhook: {obj.secret}")

    @admin.action(description="Send a test message (webhook, Slack, Teams)")
    def send_test(self, request, queryset):
        for subscriber in queryset:
            error = delivery.send_test(subscriber)
            if error is None:
                self.message_user(request, f"Test accepted by {subscriber.address}.")
            else:
                self.message_user(
                    request, f"Test to {subscriber.address}: {error}", level=messages.WARNING
                )

    @admin.display(description="Follows")
    def scope(self, obj: Subscriber) -> str:
        if obj.all_components:
            return "Everything"
        names = [g.name for g in obj.groups.all()] + [c.name for c in obj.components.all()]
        return ", ".join(names) or "Incidents only"

    @admin.action(description="Resend the confirmation email")
    def resend_confirmation(self, request, queryset):
        sent = sum(
            services.send_confirmation_request(s)
            for s in queryset.filter(state=Subscriber.State.UNCONFIRMED)
        )
        self.message_user(request, f"Confirmation sent to {sent} unconfirmed subscriber(s).")

    @admin.action(description="Quarantine (stop mailing)")
    def quarantine(self, request, queryset):
        count = sum(services.quarantine(s) for s in queryset)
        self.message_user(request, f"Quarantined {count} subscriber(s).")

    @admin.action(description="Reactivate quarantined")
    def reactivate(self, request, queryset):
        count = sum(services.reactivate(s) for s in queryset)
        self.message_user(request, f"Reactivated {count} subscriber(s).")

    @admin.action(description="Rotate link token (old manage/unsubscribe links stop working)")
    def rotate_token(self, request, queryset):
        for subscriber in queryset:
            services.rotate_token(subscriber)
        self.message_user(request, f"New link tokens for {queryset.count()} subscriber(s).")

    @admin.action(description="Export email subscribers as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="subscribers.csv"'
        services.export_subscribers(queryset, response)
        return response

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_csv),
                name="subscriptions_subscriber_import",
            ),
            *super().get_urls(),
        ]

    def import_csv(self, request):
        """Upload a CSV of subscribers (e.g. exported from another status page)."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = CSVImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            created, errors = services.import_subscribers(form.cleaned_data["file"].read())
            self.message_user(request, f"Imported {created} subscriber(s).")
            for error in errors[:20]:
                self.message_user(request, error, level=messages.WARNING)
            return redirect("admin:subscriptions_subscriber_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Import subscribers",
            "opts": self.model._meta,
        }
        return render(request, "admin/subscriptions/import.html", context)


class HasErrorFilter(admin.SimpleListFilter):
    title = "error"
    parameter_name = "error"

    def lookups(self, request, model_admin):
        return [
            ("yes", "With an error"),
            ("4xx", "Temporary (4xx / network)"),
            ("5xx", "Permanent (5xx)"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "5xx":
            return queryset.filter(last_error__regex=r"^5\d\d")
        if self.value() == "4xx":
            return queryset.exclude(last_error="").exclude(last_error__regex=r"^5\d\d")
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "subscriber_email",
        "channel",
        "event_link",
        "state",
        "attempts",
        "short_error",
        "sent_at",
        "next_attempt_at",
    ]
    list_filter = ["channel", "state", HasErrorFilter, "event__kind"]
    list_select_related = ["subscriber", "event__incident", "event__status_change__component"]
    search_fields = [
        "subscriber__email",
        "subscriber__endpoint",
        "last_error",
        "event__incident__name",
    ]
    actions = ["retry"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "event",
        "subscriber",
        "state",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "created_at",
    ]
    fields = list(readonly_fields)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Subscriber", ordering="subscriber__email")
    def subscriber_email(self, obj: Delivery) -> str:
        return obj.subscriber.address

    @admin.display(description="Event", ordering="event")
    def event_link(self, obj: Delivery) -> str:
        if obj.event.incident_id is None:
            return str(obj.event)
        url = reverse("admin:incidents_incident_change", args=[obj.event.incident_id])
        return format_html(
            '<a href="{}">{}</a> — {}', url, obj.event.incident, obj.event.get_kind_display()
        )

    @admin.display(description="Last error")
    def short_error(self, obj: Delivery) -> str:
        return obj.last_error[:80]

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("subscriptions.change_delivery")

    @admin.action(description="Retry failed deliveries", permissions=["retry"])
    def retry(self, request, queryset):
        count = delivery.retry_failed(queryset)
        self.message_user(request, f"{count} failed deliveries will be retried.")


@admin.register(NotificationEvent)
class NotificationEventAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "created_at", "fanned_out_at", "deliveries_link"]
    list_filter = ["kind", ("fanned_out_at", admin.EmptyFieldListFilter)]
    list_select_related = ["incident", "status_change__component"]
    search_fields = ["incident__name", "code"]
    readonly_fields = [
        "code",
        "kind",
        "incident",
        "update",
        "postmortem",
        "status_change",
        "created_at",
        "fanned_out_at",
    ]
    fields = list(readonly_fields)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: NotificationEvent) -> str:
        url = reverse("admin:subscriptions_delivery_changelist")
        return format_html('<a href="{}?event__id__exact={}">Deliveries</a>', url, obj.pk)


def _with_delivery_health(index):
    """The admin index, with a line on how notification delivery is doing (a warning
    when mail waits or the sweeper has stopped: no beat)."""

    @functools.wraps(index)
    def view(request, extra_context=None):
        if request.user.has_perm("subscriptions.view_delivery"):
            status = monitoring.outbox_status()
            trouble = status.lagging or status.sweeper_late
            level = messages.WARNING if trouble else messages.INFO
            messages.add_message(request, level, f"Notifications: {status.summary()}")
        return index(request, extra_context)

    return view


admin.site.index = _with_delivery_health(admin.site.index)  # type: ignore[method-assign]
