"""Resolving (or completing) several incidents at once, from the incident list.

An admin action with an intermediate page (see docs/architecture.md, 'The operator
console'): the first POST (the action chosen on the list) only shows what will happen —
the open incidents that will close, those already closed and left alone, and which ones
email their subscribers under each notify choice — with a form for the closing message and
the notify choice. Only the second POST, carrying ``confirm``, calls
``services.resolve_many``; anything else changes nothing.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from incidents import services
from incidents.admin_views import operator
from incidents.models import Incident, IncidentUpdate

if TYPE_CHECKING:
    from incidents.admin import IncidentAdmin

Notify = services.Notify


class BulkResolveForm(forms.Form):
    """The closing message and whom to notify."""

    body = forms.CharField(
        label="Message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Posted as the closing update of each incident. Leave empty for the usual text.",
    )
    notify = forms.ChoiceField(
        label="Notify",
        choices=Notify.choices,
        initial=Notify.NOTIFIED_BEFORE,
        widget=forms.RadioSelect,
    )


@dataclass
class Row:
    """One selected incident as the confirmation page shows it."""

    incident: Incident
    notified_before: bool


def preview(queryset: QuerySet[Incident]) -> tuple[list[Row], list[Incident]]:
    """The open incidents (with whether their subscribers were notified before) and the
    already closed ones, in two queries."""
    notified = IncidentUpdate.objects.filter(incident=OuterRef("pk"), deliver_notifications=True)
    selected = list(queryset.annotate(notified_before=Exists(notified)).order_by("-started_at"))
    rows = [Row(i, i.notified_before) for i in selected if not i.is_closed]
    return rows, [i for i in selected if i.is_closed]


def bulk_resolve(
    model_admin: "IncidentAdmin", request: HttpRequest, queryset: QuerySet[Incident]
) -> HttpResponse | None:
    """The action: the confirmation page, or (confirmed) the resolve and a message."""
    confirmed = "confirm" in request.POST
    form = BulkResolveForm(request.POST if confirmed else None)
    rows, closed = preview(queryset)
    if confirmed and form.is_valid():
        try:
            count = services.resolve_many(
                queryset,
                notify=form.cleaned_data["notify"],
                body=form.cleaned_data["body"],
                author=operator(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            text = done_message(model_admin, count, skipped=len(closed))
            model_admin.message_user(request, text, messages.SUCCESS)
            return None  # back to the list
    maintenance = model_admin.kind == Incident.Kind.MAINTENANCE
    counts: dict[str, int] = {
        Notify.NOTIFIED_BEFORE: sum(r.notified_before for r in rows),
        Notify.ALL: len(rows),
        Notify.NONE: 0,
    }
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Complete maintenance" if maintenance else "Resolve incidents",
        "opts": model_admin.opts,
        "verb": "complete" if maintenance else "resolve",
        "rows": rows,
        "closed": closed,
        "form": form,
        "notify_counts": [(value, label, counts[value]) for value, label in Notify.choices],
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/incidents/incident/resolve_selected.html", context)


def done_message(model_admin: "IncidentAdmin", count: int, *, skipped: int) -> str:
    """``Resolved 2 incidents. 1 already closed, left as they were.``"""
    verb = "Completed" if model_admin.kind == Incident.Kind.MAINTENANCE else "Resolved"
    noun = model_admin.opts.verbose_name if count == 1 else model_admin.opts.verbose_name_plural
    text = f"{verb} {count} {noun}."
    if skipped:
        text += f" {skipped} already closed, left as they were."
    return text
