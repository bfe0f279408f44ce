"""Forms of the operator console: "Post an update", "Open an incident" (its details and
first update), the correction of a posted update's text, and the postmortem editor.

The forms read what an operator typed and turn it into the arguments of
``incidents.services``; the rules themselves (an update says something, completed
maintenance takes no updates, statuses of the right kind...) live in the service, and a
refusal from it is shown on the field it concerns with :meth:`UpdateForm.add_service_error`.
"""

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict

from components.models import Component
from incidents import services
from incidents.models import Incident, IncidentTemplate
from incidents.widgets import LabelledSplitDateTime
from statusportal import limits

ComponentStatus = Component.Status

# Values of a component's select besides the statuses themselves.
UNCHANGED = ""  # affected component: keep its status (or let the rule decide); other: not affected
AFFECTED = "affected"  # other component: add it to the incident without changing its status

# Where the service's error keys are shown in these forms.
SERVICE_FIELD_MAP = {"status": "update_status", "body": "update_body"}


STALE_FORM = (
    "Someone posted an update since you opened this page (see the timeline). "
    "Read it, then post yours again if it is still needed."
)


def component_choices(affected: bool) -> list[tuple[str, str]]:
    if affected:
        first = [(UNCHANGED, "Unchanged")]
    else:
        first = [(UNCHANGED, "—"), (AFFECTED, "Affected (status unchanged)")]
    return first + list(ComponentStatus.choices)


def find_template(pk: str) -> IncidentTemplate | None:
    """The template named by ``?template=<pk>``, or None."""
    if not pk.isdigit():
        return None
    return IncidentTemplate.objects.filter(pk=pk).prefetch_related("components").first()


@dataclass
class ComponentRow:
    """One line of the component table: the component, its select, whether the incident
    already affects it."""

    component: Component
    field: forms.BoundField
    affected: bool

    @property
    def group_name(self) -> str:
        group = self.component.group
        return group.name if group is not None else ""


@dataclass
class ComponentGroupRows:
    """The rows of one group of the public page (name "" for ungrouped components), for
    the table's group header and its "set all" select."""

    name: str
    key: str
    rows: list[ComponentRow]


def grouped(rows: list[ComponentRow], prefix: str = "g") -> list[ComponentGroupRows]:
    """``rows`` (already in the public page's order) by group; ``prefix`` keeps the keys of
    two tables on one page apart."""
    return [
        ComponentGroupRows(name, f"{prefix}{index}", list(members))
        for index, (name, members) in enumerate(groupby(rows, key=lambda r: r.group_name))
    ]


class UpdateForm(forms.Form):
    """The "Post an update" section: status, message, a status per component, notify,
    back-dating. Built for an ``incident`` (None while opening one of ``kind``), optionally
    prefilled from an IncidentTemplate."""

    update_status = forms.ChoiceField(label="Status", widget=forms.RadioSelect)
    update_body = forms.CharField(
        label="Message",
        required=False,  # the service's rule decides (check_body), with its own words
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text="Markdown. Shown on the status page and emailed to subscribers.",
    )
    notify = forms.BooleanField(
        label="Notify subscribers",
        required=False,
        initial=True,
        help_text="Email this update to subscribers of the affected components.",
    )
    display_at = forms.SplitDateTimeField(
        label="Show as posted at",
        required=False,
        widget=LabelledSplitDateTime("Show as posted at"),
        help_text="Leave empty for now. Fill in to back-date an update posted late "
        "(in the page's time zone).",
    )
    # The newest update the operator saw when the page loaded: during an outage two
    # operators may post at once, and the second should read the first before posting.
    last_seen_update = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any = None,
        *,
        incident: Incident | None = None,
        kind: str = Incident.Kind.INCIDENT,
        template: IncidentTemplate | None = None,
        reopen: bool = False,
        **kwargs: Any,
    ):
        super().__init__(data, **kwargs)
        self.incident = incident
        self.kind = incident.kind if incident is not None else kind
        self.accepts_updates = incident is None or incident.accepts_updates
        statuses = Incident.statuses_for(self.kind)
        cast(forms.ChoiceField, self.fields["update_status"]).choices = [
            (s.value, s.label) for s in statuses
        ]
        self.fields["update_status"].initial = incident.status if incident else statuses[0]
        # Reopening a resolved incident: the page opens on its first status.
        self.reopening = bool(reopen and incident is not None and incident.is_closed)
        if self.reopening:
            self.fields["update_status"].initial = statuses[0]
        self.component_rows = self._component_rows()
        self.latest_update_pk = (
            incident.updates.order_by("-pk").values_list("pk", flat=True).first()
            if incident is not None
            else None
        )
        self.fields["last_seen_update"].initial = self.latest_update_pk
        self.template = template if self.accepts_updates else None
        if self.template is not None and not self.is_bound:
            self._prefill(self.template)

    def _component_rows(self) -> list[ComponentRow]:
        affected_ids = (
            set(self.incident.components.values_list("pk", flat=True)) if self.incident else set()
        )
        components = Component.objects.in_page_order()
        rows = []
        for component in components:
            affected = component.pk in affected_ids
            name = f"component_{component.code}"
            self.fields[name] = forms.ChoiceField(
                label=component.name, choices=component_choices(affected), required=False
            )
            rows.append(ComponentRow(component, self[name], affected))
        return rows

    def _prefill(self, template: IncidentTemplate) -> None:
        """Fill the initial values from ``template`` (only what fits this kind)."""
        if template.status in Incident.statuses_for(self.kind):
            self.initial["update_status"] = template.status
        self.initial["update_body"] = template.body
        rows = {f"component_{row.component.code}": row for row in self.component_rows}
        for component in template.components.all():
            row = rows.get(f"component_{component.code}")
            if row is not None:
                fallback = UNCHANGED if row.affected else AFFECTED
                self.initial[row.field.name] = template.component_status or fallback

    # -- what the template shows ------------------------------------------------------
    @property
    def affected_rows(self) -> list[ComponentRow]:
        return [row for row in self.component_rows if row.affected]

    @property
    def affected_groups(self) -> list[ComponentGroupRows]:
        return grouped(self.affected_rows, prefix="a")

    @property
    def other_rows(self) -> list[ComponentRow]:
        return [row for row in self.component_rows if not row.affected]

    @property
    def other_groups(self) -> list[ComponentGroupRows]:
        return grouped(self.other_rows)

    @property
    def scheduled_only(self) -> bool:
        """Whether this form schedules maintenance (or updates one still scheduled): the
        component statuses chosen here wait for its start."""
        if self.kind != Incident.Kind.MAINTENANCE:
            return False
        return self.incident is None or self.incident.status == Incident.Status.SCHEDULED

    def template_payloads(self) -> list[dict[str, Any]]:
        """What the page's script needs to fill the form from a template in place."""
        payloads = []
        fitting = set(Incident.statuses_for(self.kind))
        rows = {row.component.pk: row for row in self.component_rows}
        for template in self.templates().prefetch_related("components"):
            components = {}
            for component in template.components.all():
                row = rows.get(component.pk)
                if row is not None:
                    fallback = UNCHANGED if row.affected else AFFECTED
                    components[row.field.html_name] = template.component_status or fallback
            payloads.append(
                {
                    "id": template.pk,
                    "title": template.title,
                    "body": template.body,
                    "status": template.status if template.status in fitting else "",
                    "components": components,
                }
            )
        return payloads

    def templates(self) -> QuerySet[IncidentTemplate]:
        """Templates whose status fits this kind (incident or maintenance)."""
        statuses = [s.value for s in Incident.statuses_for(self.kind)]
        return IncidentTemplate.objects.filter(status__in=statuses).order_by("name")

    # -- validation -------------------------------------------------------------------
    def clean_update_body(self) -> str:
        try:
            return services.check_body(self.cleaned_data.get("update_body"))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["body"]) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data  # (the same dict: Form.clean returns it)
        seen = data.get("last_seen_update")
        if seen is not None and self.latest_update_pk is not None and seen != self.latest_update_pk:
            self.add_error(None, STALE_FORM)
            # Resubmitting after reading it is allowed.
            resubmit = cast(QueryDict, self.data).copy()
            resubmit[self.add_prefix("last_seen_update")] = str(self.latest_update_pk)
            self.data = resubmit
        return data

    def add_service_error(self, error: ValidationError) -> None:
        """Show an error raised by the service on the field it concerns."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            target = SERVICE_FIELD_MAP.get(key, key)
            if target in self.fields:
                self.add_error(target, errors)
                continue
            prefix = "Components: " if key == "components" else ""
            for err in errors:
                self.add_error(None, prefix + " ".join(err.messages))

    # -- for the service --------------------------------------------------------------
    def component_changes(self) -> dict[str, str | None]:
        """The ``components`` argument for the service: code -> new status or None."""
        changes: dict[str, str | None] = {}
        for row in self.component_rows:
            value = self.cleaned_data.get(row.field.name, UNCHANGED)
            code = row.component.code
            if row.affected:
                # Listed with every update, as the public page shows; None lets the
                # resolve rule (or maintenance start) decide.
                changes[code] = value or None
            elif value == AFFECTED:
                changes[code] = None
            elif value:
                changes[code] = value
        return changes

    def update_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``services.post_update`` (and ``open_incident``)."""
        data = self.cleaned_data
        display_at: datetime | None = data.get("display_at")
        return {
            "status": data["update_status"],
            "body": data["update_body"],
            "components": self.component_changes(),
            "deliver_notifications": bool(data.get("notify")),
            "display_at": display_at,
        }


class OpenIncidentForm(UpdateForm, forms.ModelForm):
    """The add page: the incident's own fields (those of the admin's fieldsets, with the
    admin's widgets: the ModelAdmin builds the class) and its first update."""

    class Meta:
        model = Incident
        fields = ["name"]

    def __init__(self, data: Any = None, *, template: IncidentTemplate | None = None, **kwargs):
        super().__init__(data, template=template, **kwargs)
        if template is not None and template.title and not self.is_bound:
            self.initial["name"] = template.title

    def incident_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``services.open_incident`` besides the update's."""
        fields = {name: self.cleaned_data.get(name) for name in self._meta.fields or ()}
        return {"kind": self.kind, **fields, **self.update_arguments()}


class CorrectionForm(forms.Form):
    """The corrected text of a posted update."""

    body = forms.CharField(
        label="Text",
        required=False,  # the service's rule decides (check_body)
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Saving a correction changes the text on the page; "
        "it is not posted or emailed again.",
    )

    def clean_body(self) -> str:
        try:
            return services.check_body(self.cleaned_data.get("body"))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["body"]) from None


class PostmortemForm(forms.Form):
    """Write, preview and publish an incident's postmortem."""

    body = forms.CharField(
        label="Postmortem",
        max_length=limits.MAX_POSTMORTEM_LENGTH,
        widget=forms.Textarea(attrs={"rows": 20, "cols": 100}),
        help_text="Markdown. What happened, why, and what you changed so it does not recur.",
    )
    notify = forms.BooleanField(
        label="Notify subscribers when publishing",
        required=False,
        initial=False,
        help_text="Email the postmortem to subscribers of the affected components.",
    )
