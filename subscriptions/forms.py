"""Forms of the public subscription pages."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from components.models import Component, ComponentGroup
from subscriptions.models import Subscriber


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
    """Email, a webhook (URL + contact email), a Slack or a Teams channel (URL)."""

    channel = forms.ChoiceField(
        choices=Subscriber.Channel.choices,
        required=False,
        initial=Subscriber.Channel.EMAIL,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    endpoint = forms.CharField(max_length=2000, required=False, strip=True)
    # Honeypot: hidden from people by CSS, filled in by naive bots.
    website = forms.CharField(required=False, label="Leave this empty")

    field_order = ["channel", "email", "endpoint", "scope", "groups", "components", "website"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        channel = data.get("channel") or Subscriber.Channel.EMAIL
        data["channel"] = channel
        needs_email = channel in (Subscriber.Channel.EMAIL, Subscriber.Channel.WEBHOOK)
        if needs_email and not data.get("email") and "email" not in self.errors:
            self.add_error(
                "email",
                ValidationError("Enter your email address.", code="required")
                if channel == Subscriber.Channel.EMAIL
                else ValidationError("A webhook needs a contact email address.", code="required"),
            )
        if channel != Subscriber.Channel.EMAIL and not data.get("endpoint"):
            self.add_error(
                "endpoint", ValidationError("Enter the URL to post to.", code="required")
            )
        return data

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
