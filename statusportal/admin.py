"""Admin for site-wide models: API tokens."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet

from statusportal.api.tokens import create_token
from statusportal.models import ApiToken


class ApiTokenCreationForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Create tokens (the key is shown once, in the confirmation message) and revoke them."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "active"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="active", boolean=True, ordering="revoked_at")
    def active(self, token: ApiToken) -> bool:
        return token.is_active

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreationForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return  # tokens are immutable; revoke and create a new one instead
        token, key = create_token(form.cleaned_data["user"], form.cleaned_data["name"])
        obj.pk = token.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            f"Token “{token.name}” created. Its key, shown only this once: {key}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset: QuerySet):
        count = sum(token.revoke() for token in queryset)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
