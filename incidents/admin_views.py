"""The console's own pages for an incident or maintenance: "Post an update" (the incident's
page for operators; on the add page it opens the incident with its first update), the
correction of a posted update's text, and the postmortem editor.

Plain form views: GET shows the form, POST validates it and calls ``incidents.services``,
then says what happened and redirects; when the service refuses (ValidationError,
ConflictError), the form is shown again with its error and everything typed, and nothing
is saved (each service call is one transaction). The ModelAdmin classes in
``incidents/admin.py`` route their URLs here (see docs/architecture.md, 'The operator
console').
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString

from components.models import Component
from incidents import services
from incidents.admin_hooks import annotate_updates
from incidents.forms import (
    CorrectionForm,
    OpenIncidentForm,
    PostmortemForm,
    UpdateForm,
    find_template,
)
from incidents.models import Incident, IncidentUpdate, Postmortem
from statusportal.markdown import render_markdown

if TYPE_CHECKING:
    from incidents.admin import IncidentAdmin

TEMPLATES = "admin/incidents/incident"


def operator(request: HttpRequest) -> User:
    """The signed-in operator: the admin site lets only active staff reach these views."""
    return cast(User, request.user)


# -- the timeline ------------------------------------------------------------------------


@dataclass
class Change:
    """A component change an update made, as the timeline shows it."""

    name: str
    old: str
    new: str
    changed: bool


@dataclass
class TimelineEntry:
    """A posted update with what the console shows beside it: the component changes it
    made and the plug-ins' annotations (``incidents.admin_hooks``)."""

    update: IncidentUpdate
    changes: list[Change] = field(default_factory=list)
    annotations: list[SafeString] = field(default_factory=list)


def timeline(incident: Incident) -> list[TimelineEntry]:
    """The incident's updates, newest first, in a fixed number of queries."""
    updates = list(incident.updates.select_related("author"))
    notes = annotate_updates(updates)
    label = Component.Status.label_of
    return [
        TimelineEntry(
            update,
            changes=[
                Change(
                    name=entry.get("name", entry.get("code")),
                    old=label(entry.get("old_status"), "—"),
                    new=label(entry.get("new_status"), "—"),
                    changed=entry.get("old_status") != entry.get("new_status"),
                )
                for entry in update.affected_components or ()
            ],
            annotations=notes.get(update.pk, []),
        )
        for update in updates
    ]


# -- messages ----------------------------------------------------------------------------


def posted_message(update: IncidentUpdate, *, opened: bool = False) -> str:
    """``Update posted (Identified); 3 components changed; subscribers will be notified.``"""
    n = sum(1 for e in update.affected_components if e.get("old_status") != e["new_status"])
    noun = "component" if n == 1 else "components"
    status = update.get_status_display()
    what = f"Opened; first update posted ({status})" if opened else f"Update posted ({status})"
    notified = (
        "subscribers will be notified" if update.deliver_notifications else "no notification sent"
    )
    return f"{what}; {n} {noun} changed; {notified}."


CORRECTED = "Text of 1 earlier update corrected (nobody was notified again)."
NOT_CORRECTED = "The text was the same; nothing changed."


# -- URLs --------------------------------------------------------------------------------


def admin_url(model_admin: "IncidentAdmin", name: str, *args: Any) -> str:
    """The URL of one of ``model_admin``'s pages (``post``, ``change``, ``correct``...)."""
    opts = model_admin.opts
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)


# -- Post an update / open an incident ---------------------------------------------------


def post_update_view(
    model_admin: "IncidentAdmin", request: HttpRequest, incident: Incident | None
) -> HttpResponse:
    """The "Post an update" page of ``incident``, or the add page when it is None."""
    add = incident is None
    if add:
        if not model_admin.has_add_permission(request):
            raise PermissionDenied
        can_post = True
    else:
        if not model_admin.has_view_or_change_permission(request, incident):
            raise PermissionDenied
        can_post = model_admin.has_change_permission(request, incident)
    if request.method == "POST" and not can_post:
        raise PermissionDenied

    data = request.POST if request.method == "POST" else None
    template = find_template(request.GET.get("template", ""))
    form: UpdateForm
    if add:
        form_class = cast(
            type[OpenIncidentForm], model_admin.get_form(request, None, form=OpenIncidentForm)
        )
        form = form_class(data, kind=model_admin.kind, template=template)
    else:
        form = UpdateForm(
            data, incident=incident, template=template, reopen="reopen" in request.GET
        )

    if data is not None and form.is_valid():
        try:
            if isinstance(form, OpenIncidentForm):
                incident = services.open_incident(
                    author=operator(request), **form.incident_arguments()
                )
                update = incident.updates.get()
            else:
                assert incident is not None  # (an UpdateForm posts on an existing incident)
                update = services.post_update(
                    incident, author=operator(request), **form.update_arguments()
                )
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            model_admin.message_user(request, posted_message(update, opened=add), messages.SUCCESS)
            # Stay on the incident: the operator sees the new update in the timeline.
            return HttpResponseRedirect(admin_url(model_admin, "post", incident.pk))

    return TemplateResponse(
        request,
        f"{TEMPLATES}/post.html",
        _page_context(model_admin, request, form, incident, can_post=can_post),
    )


def _page_context(
    model_admin: "IncidentAdmin",
    request: HttpRequest,
    form: UpdateForm,
    incident: Incident | None,
    *,
    can_post: bool,
) -> dict[str, Any]:
    """What admin/change_form.html (which post.html extends) and the page itself need."""
    add = incident is None
    opts = model_admin.opts
    admin_form = helpers.AdminForm(
        form,  # type: ignore[arg-type]  # the stubs want a ModelForm; any form works
        list(model_admin.get_fieldsets(request)) if add else [],
        {},
    )
    if incident is not None:
        title = str(incident)
    elif model_admin.kind == Incident.Kind.MAINTENANCE:
        title = "Schedule maintenance"
    else:
        title = "Open an incident"
    user = request.user
    postmortem_url = None
    if (
        incident is not None
        and not incident.is_maintenance
        and user.has_perm("incidents.view_postmortem")
    ):
        postmortem_url = reverse("admin:incidents_incident_postmortem", args=[incident.pk])
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "add": add,
        "change": not add,
        "original": incident,
        "object_id": incident.pk if incident else None,
        "adminform": admin_form,
        "form": form,
        "errors": helpers.AdminErrorList(form, []),  # type: ignore[arg-type]  # (as above)
        "media": model_admin.media + admin_form.media,
        "inline_admin_formsets": [],
        "is_popup": False,
        "to_field": None,
        "form_url": "",
        "has_file_field": False,
        "save_on_top": False,
        "has_view_permission": True,
        "has_add_permission": model_admin.has_add_permission(request),
        "has_change_permission": can_post,
        "has_delete_permission": False,
        "has_absolute_url": False,  # the page's own link is in the summary
        "can_post": can_post and form.accepts_updates,
        "can_correct": can_post and user.has_perm("incidents.change_incidentupdate"),
        "timeline": timeline(incident) if incident is not None else [],
        "details_url": None if incident is None else admin_url(model_admin, "change", incident.pk),
        "postmortem_url": postmortem_url,
        "postmortem": getattr(incident, "postmortem", None) if postmortem_url else None,
        "closing_statuses": [s.value for s in Incident.CLOSED_STATUSES],
        "starting_statuses": [s.value for s in Incident.ACTIVE_MAINTENANCE_STATUSES],
        "reopen_url": (
            f"{admin_url(model_admin, 'post', incident.pk)}?reopen=1#post-update"
            if incident is not None and incident.is_closed and incident.accepts_updates and can_post
            else None
        ),
    }


# -- correcting a posted text --------------------------------------------------------------


def correct_view(
    model_admin: "IncidentAdmin", request: HttpRequest, incident: Incident, update_id: int
) -> HttpResponse:
    """Correct the text of a posted update (a typo): saved alone, not posted again."""
    may_correct = model_admin.has_change_permission(request, incident) and request.user.has_perm(
        "incidents.change_incidentupdate"
    )
    if not may_correct:
        raise PermissionDenied
    update = get_object_or_404(IncidentUpdate, pk=update_id, incident=incident)
    data = request.POST if request.method == "POST" else None
    form = CorrectionForm(data, initial={"body": update.body})
    if data is not None and form.is_valid():
        changed = services.correct_body(update, form.cleaned_data["body"])
        if changed:
            model_admin.message_user(request, CORRECTED, messages.SUCCESS)
        else:  # not a success: the operator meant to change something
            model_admin.message_user(request, NOT_CORRECTED, messages.WARNING)
        return HttpResponseRedirect(admin_url(model_admin, "post", incident.pk))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Correct the text of an update",
        "opts": model_admin.opts,
        "original": incident,
        "incident": incident,
        "update": update,
        "form": form,
        "post_url": admin_url(model_admin, "post", incident.pk),
    }
    return TemplateResponse(request, f"{TEMPLATES}/correct.html", context)


# -- postmortem ------------------------------------------------------------------------------


def postmortem_view(
    model_admin: "IncidentAdmin", request: HttpRequest, incident: Incident
) -> HttpResponse:
    """Write a draft, preview it rendered, publish it (optionally notifying)."""
    user = operator(request)
    if not user.has_perm("incidents.view_postmortem"):
        raise PermissionDenied
    can_edit = user.has_perm("incidents.change_postmortem") and user.has_perm(
        "incidents.add_postmortem"
    )
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
                    model_admin.message_user(request, text, messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
    else:
        form = PostmortemForm(initial={"body": postmortem.body if postmortem else ""})
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Postmortem: {incident.name}",
        "incident": incident,
        "postmortem": postmortem,
        "form": form,
        "preview": preview,
        "can_edit": can_edit,
        "can_publish": incident.is_closed and not (postmortem and postmortem.is_published),
        "post_url": admin_url(model_admin, "post", incident.pk),
    }
    return TemplateResponse(request, f"{TEMPLATES}/postmortem.html", context)
