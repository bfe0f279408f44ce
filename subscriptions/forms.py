"""Forms of the public subscription pages."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from components.models import Component, ComponentGroup


class ScopeForm(forms.Form):
    """Everything, or a chosen set of components and groups."""

    ALL = "all"
    CHOSEN = "chosen"

    scope = forms.ChoiceField(
        choices=[(ALL, "Everything (including components added later)"), (CHOSEN, "Only…")],
        initial=ALL,
        widget=forms.RadioSelect,
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.all(), to_field_name="code", required=False
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=ComponentGroup.objects.all(), to_field_name="code", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data  # (the same dict: Form.clean returns it)
        ticked = data.get("components") or data.get("groups")
        if ticked and data.get("scope") == self.ALL and self["scope"].initial != self.ALL:
            # They followed chosen items and now picked "Everything": the boxes still
            # ticked are leftovers.
            data["components"], data["groups"] = [], []
        elif ticked:
            # Ticked boxes say what the person wants, whatever the radio (which defaults
            # to "Everything"): never store everything when they chose some.
            data["scope"] = self.CHOSEN
        if data.get("scope") == self.CHOSEN and not ticked:
            raise ValidationError(
                {
                    "components": "Choose at least one component, or “Everything”. "
                    "To stop all emails, unsubscribe."
                },
                code="empty_scope",
            )
        return data

    def chosen(self):
        """None for everything, else the chosen components and groups."""
        if self.cleaned_data["scope"] == self.ALL:
            return None
        return [*self.cleaned_data["groups"], *self.cleaned_data["components"]]


class SubscribeForm(ScopeForm):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    # Honeypot: hidden from people by CSS, filled in by naive bots.
    website = forms.CharField(required=False, label="Leave this empty")

    field_order = ["email", "scope", "groups", "components", "website"]

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class IncidentSubscribeForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    website = forms.CharField(required=False, label="Leave this empty")

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))
