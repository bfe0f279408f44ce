"""Incidents and scheduled maintenance, their updates, postmortems and templates, all
through ``incidents.services`` (see docs/architecture.md, "The update service")."""

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from components.models import Component
from incidents import services
from incidents.api.statuspage import UNRESOLVED_STATUSES, incidents_queryset
from incidents.backfill import Step, backfill_incident
from incidents.models import Incident, IncidentTemplate, IncidentUpdate, Postmortem
from manageapi import shapes
from manageapi.base import ManageView, get_or_404, no_content, page_slice
from manageapi.envelope import unwrap
from manageapi.serializers import (
    IncidentChangeInput,
    IncidentInput,
    IncidentUpdateChangeInput,
    PostmortemDraftInput,
    PostmortemPublishInput,
    TemplateInput,
    valid,
)
from statusportal import limits
from statusportal.api.permissions import acting_user

Status = Incident.Status

# Statuspage reminds subscribers of a maintenance this long before it starts.
REMINDER = timedelta(hours=1)
MAX_QUERY_LENGTH = 200


def default_body(status_: str) -> str:
    """The message of an update sent without one (Statuspage allows that; an update of
    ours always says something): the services' closing texts, else the status."""
    if status_ == Status.RESOLVED:
        return services.DEFAULT_RESOLVED_BODY
    if status_ == Status.COMPLETED:
        return services.DEFAULT_COMPLETED_BODY
    return f"{Status(status_).label}."


def component_changes(data: dict[str, Any]) -> dict[Component | str, str | None]:
    """``components`` (id → status) and ``component_ids`` (affected, status unchanged)
    as the services take them."""
    changes: dict[Component | str, str | None] = dict.fromkeys(data.get("component_ids") or [])
    changes.update(data.get("components") or {})
    return changes


def shaped(incident: Incident, code: int = status.HTTP_200_OK) -> Response:
    return Response(shapes.incident(incidents_queryset().get(pk=incident.pk)), status=code)


def search_text(request: Request) -> str:
    text = request.query_params.get("q", "").strip()
    if "\x00" in text or len(text) > MAX_QUERY_LENGTH:
        raise exceptions.ParseError(
            f"“q” is text of at most {MAX_QUERY_LENGTH} characters without NUL."
        )
    return text


class IncidentList(ManageView):
    """``GET``: every incident and maintenance, newest first (``q``, ``limit``, ``page``);
    ``POST``: open an incident, schedule maintenance, or record a past incident
    (``backfilled``)."""

    model = Incident

    def get(self, request: Request, page_id: str) -> Response:
        found = incidents_queryset().order_by("-started_at", "-pk")
        text = search_text(request)
        if text:
            bodies = IncidentUpdate.objects.filter(body__icontains=text).values("incident_id")
            found = found.filter(Q(name__icontains=text) | Q(pk__in=bodies))
        size_param = "limit" if "limit" in request.query_params else "per_page"
        listed = page_slice(request, found, size_param=size_param)
        return Response([shapes.incident(i) for i in listed])

    def post(self, request: Request, page_id: str) -> Response:
        data = valid(IncidentInput, unwrap(request, "incident"))
        maintenance = data.get("scheduled_for") is not None or (
            data.get("status") in Incident.MAINTENANCE_STATUSES
        )
        kind = Incident.Kind.MAINTENANCE if maintenance else Incident.Kind.INCIDENT
        changes = component_changes(data)
        if data["backfilled"]:
            incident = self._backfill(data, kind, changes)
        else:
            status_ = data.get("status") or (
                Status.SCHEDULED if maintenance else Status.INVESTIGATING
            )
            incident = services.open_incident(
                name=data["name"],
                status=status_,
                body=data.get("body") or default_body(status_),
                kind=kind,
                components=changes,
                impact_override=data.get("impact_override", ""),
                deliver_notifications=data["deliver_notifications"],
                author=acting_user(request),
                scheduled_for=data.get("scheduled_for"),
                scheduled_until=data.get("scheduled_until"),
                auto_start=data["scheduled_auto_in_progress"] or data["scheduled_auto_transition"],
                auto_complete=data["scheduled_auto_completed"] or data["scheduled_auto_transition"],
                remind_before=REMINDER if data["scheduled_remind_prior"] else None,
                origin=self.origin(),
            )
        return shaped(incident, status.HTTP_201_CREATED)

    @transaction.atomic
    def _backfill(
        self, data: dict[str, Any], kind: str, changes: dict[Component | str, str | None]
    ) -> Incident:
        """A past incident (Statuspage's "backfilled"): one closing update at
        ``backfill_date``, written by ``incidents.backfill``; nobody is notified."""
        closing = Status.COMPLETED if kind == Incident.Kind.MAINTENANCE else Status.RESOLVED
        happened = data.get("backfill_date") or timezone.now()
        limits.check_time("backfill_date", happened)
        incident = backfill_incident(
            name=data["name"],
            kind=kind,
            steps=[
                Step(
                    status=closing,
                    body=data.get("body") or default_body(closing),
                    display_at=happened,
                    components=changes,
                )
            ],
            author=acting_user(self.request),
            origin=self.origin(),
        )
        if data.get("impact_override"):
            incident.impact_override = data["impact_override"]
            services.save_details(incident, ["impact_override"])
        return incident


class _Filtered(ManageView):
    """A list of incidents or maintenance (``page``, ``per_page``)."""

    model = Incident

    def incidents(self) -> QuerySet[Incident]:
        raise NotImplementedError

    def get(self, request: Request, page_id: str) -> Response:
        listed = page_slice(request, self.incidents())
        return Response([shapes.incident(i) for i in listed])


class UnresolvedIncidents(_Filtered):
    def incidents(self) -> QuerySet[Incident]:
        return (
            incidents_queryset()
            .filter(kind=Incident.Kind.INCIDENT, status__in=UNRESOLVED_STATUSES)
            .order_by("-started_at", "-pk")
        )


class ScheduledIncidents(_Filtered):
    """Every maintenance, soonest last (as Statuspage's "scheduled incidents")."""

    def incidents(self) -> QuerySet[Incident]:
        return (
            incidents_queryset()
            .filter(kind=Incident.Kind.MAINTENANCE)
            .order_by("-scheduled_for", "-pk")
        )


class UpcomingIncidents(_Filtered):
    def incidents(self) -> QuerySet[Incident]:
        return (
            incidents_queryset()
            .filter(kind=Incident.Kind.MAINTENANCE, status=Status.SCHEDULED)
            .order_by("scheduled_for", "pk")
        )


class ActiveMaintenance(_Filtered):
    def incidents(self) -> QuerySet[Incident]:
        return (
            incidents_queryset()
            .filter(kind=Incident.Kind.MAINTENANCE, status__in=Incident.ACTIVE_MAINTENANCE_STATUSES)
            .order_by("scheduled_for", "pk")
        )


class IncidentDetail(ManageView):
    """One incident. ``PATCH``/``PUT`` save its details (name, impact override, window)
    and, when they carry a ``status``, ``body`` or components, post an update."""

    model = Incident
    POSTING = ("status", "body", "components", "component_ids")

    def required_permissions(self, request: Request) -> list[str]:
        if request.method in ("PATCH", "PUT"):
            fields = unwrap(request, "incident")
            perms = []
            if any(key in fields for key in self.POSTING):
                perms.append("incidents.add_incidentupdate")
            if set(fields) - {*self.POSTING, "deliver_notifications"} or not perms:
                perms.append("incidents.change_incident")
            return perms
        return super().required_permissions(request)

    def get(self, request: Request, page_id: str, code: str) -> Response:
        return Response(shapes.incident(get_or_404(incidents_queryset(), code, "incident")))

    @transaction.atomic
    def patch(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        data = valid(IncidentChangeInput, unwrap(request, "incident"))
        window = {"scheduled_for", "scheduled_until"} & set(data)
        if window and not incident.is_maintenance:
            raise exceptions.ValidationError(
                {field: ["Only a maintenance has a scheduled window."] for field in window}
            )
        details: list[str] = []
        for field in ("name", "impact_override", "scheduled_for", "scheduled_until"):
            if field in data:
                setattr(incident, field, data[field])
                details.append(field)
        if incident.is_maintenance:
            for ours, theirs in (
                ("auto_start", "scheduled_auto_in_progress"),
                ("auto_complete", "scheduled_auto_completed"),
            ):
                if theirs in data:
                    setattr(incident, ours, data[theirs])
                    details.append(ours)
            if "scheduled_remind_prior" in data:
                incident.remind_before = REMINDER if data["scheduled_remind_prior"] else None
                details.append("remind_before")
        if details:
            services.save_details(incident, details)
        if any(key in data for key in self.POSTING):
            status_ = data.get("status") or incident.status
            services.post_update(
                incident,
                status=status_,
                body=data.get("body") or default_body(status_),
                components=component_changes(data),
                deliver_notifications=data["deliver_notifications"],
                author=acting_user(request),
                origin=self.origin(),
            )
        return shaped(incident)

    put = patch

    def delete(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(incidents_queryset(), code, "incident")
        before = shapes.incident(incident)
        services.delete_incident(incident)
        return Response(before)


class IncidentUpdateDetail(ManageView):
    """Correct a posted update: its text (``correct_body``) or its time
    (``correct_display_at``). Nobody is notified again."""

    model = IncidentUpdate

    def patch(self, request: Request, page_id: str, code: str, update_code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        update = get_or_404(incident.updates.all(), update_code, "incident update")
        data = valid(IncidentUpdateChangeInput, unwrap(request, "incident_update"))
        with transaction.atomic():
            if "body" in data:
                services.correct_body(update, data["body"])
            if "display_at" in data:
                services.correct_display_at(update, data["display_at"])
        update.refresh_from_db()
        return Response(shapes.incident_update(update, incident))

    put = patch


class PostmortemView(ManageView):
    """The incident's postmortem: read, save the draft (``PUT``), delete."""

    model = Postmortem

    def required_permissions(self, request: Request) -> list[str]:
        if request.method == "PUT":
            return ["incidents.add_postmortem", "incidents.change_postmortem"]
        return super().required_permissions(request)

    def get(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        postmortem = Postmortem.objects.filter(incident=incident).first()
        if postmortem is None:
            raise exceptions.NotFound("This incident has no postmortem.")
        return Response(shapes.postmortem(postmortem))

    def put(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        data = valid(PostmortemDraftInput, unwrap(request, "postmortem"))
        postmortem = services.save_postmortem_draft(
            incident, body=data["body_draft"], author=acting_user(request)
        )
        return Response(shapes.postmortem(postmortem))

    def delete(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        if not services.delete_postmortem(incident):
            raise exceptions.NotFound("This incident has no postmortem.")
        return no_content()


class PostmortemPublish(ManageView):
    model = Postmortem

    def required_permissions(self, request: Request) -> list[str]:
        return ["incidents.change_postmortem"]

    def put(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        data = valid(PostmortemPublishInput, unwrap(request, "postmortem", required=False))
        postmortem = services.publish_postmortem(
            incident, notify=data["notify_subscribers"], author=acting_user(request)
        )
        return Response(shapes.postmortem(postmortem))


class PostmortemRevert(ManageView):
    model = Postmortem

    def required_permissions(self, request: Request) -> list[str]:
        return ["incidents.change_postmortem"]

    def put(self, request: Request, page_id: str, code: str) -> Response:
        incident = get_or_404(Incident.objects.all(), code, "incident")
        return Response(shapes.postmortem(services.revert_postmortem(incident)))


class TemplateList(ManageView):
    """Incident templates: the console's "Post an update" form prefills from them."""

    model = IncidentTemplate

    def get(self, request: Request, page_id: str) -> Response:
        templates = IncidentTemplate.objects.prefetch_related("components__group")
        return Response([shapes.template(t) for t in page_slice(request, templates)])

    @transaction.atomic
    def post(self, request: Request, page_id: str) -> Response:
        data = valid(TemplateInput, unwrap(request, "template"))
        found = {c.code: c for c in Component.objects.filter(code__in=data["component_ids"])}
        unknown = [code for code in data["component_ids"] if code not in found]
        if unknown:
            raise exceptions.ValidationError(
                {"component_ids": [f"No component has the id “{code}”." for code in unknown]}
            )
        template = IncidentTemplate(
            name=data["name"], title=data["title"], body=data["body"], status=data["update_status"]
        )
        template.full_clean()
        template.save()
        template.components.set(found.values())
        return Response(shapes.template(template), status=status.HTTP_201_CREATED)
