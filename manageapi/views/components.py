"""Components and component groups: lists, create, read, change (a status change is
recorded in the history with the key's origin), delete; uptime."""

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from components.models import Component, ComponentGroup, next_page_position
from components.ordering import set_members
from components.uptime import daily_uptime, local_today
from manageapi import shapes
from manageapi.base import ManageView, get_or_404, no_content, page_slice
from manageapi.envelope import body_of, unwrap
from manageapi.serializers import ComponentGroupInput, ComponentInput, valid
from statusportal import limits

# The longest uptime range one request may ask for.
MAX_UPTIME_DAYS = 366
DEFAULT_UPTIME_DAYS = 90


def catalogue() -> tuple[list[ComponentGroup], list[Component]]:
    return (
        list(ComponentGroup.objects.order_by("position", "pk")),
        list(Component.objects.in_page_order()),
    )


def group_shape(group: ComponentGroup) -> dict[str, Any]:
    members = list(Component.objects.in_page_order().filter(group=group))
    return shapes.group(group, members)


def _group_of(code: str | None) -> ComponentGroup | None:
    if not code:
        return None
    found = ComponentGroup.objects.filter(code=code).first()
    if found is None:
        raise exceptions.ValidationError({"group_id": [f"No component group has the id “{code}”."]})
    return found


class ComponentList(ManageView):
    """``GET``: groups and components in page order (``page``, ``per_page``); ``POST``:
    a new component."""

    model = Component

    def get(self, request: Request, page_id: str) -> Response:
        groups, components = catalogue()
        listed = shapes.components_in_page_order(groups, components)
        return Response(page_slice(request, listed))

    @transaction.atomic
    def post(self, request: Request, page_id: str) -> Response:
        data = valid(ComponentInput, unwrap(request, "component"))
        component = Component(
            name=data["name"],
            description=data.get("description", ""),
            group=_group_of(data.get("group_id")),
            showcase=data.get("showcase", True),
            only_show_if_degraded=data.get("only_show_if_degraded", False),
            start_date=data.get("start_date"),
            status=data.get("status") or Component.Status.OPERATIONAL,
        )
        component.full_clean()
        component.save(origin=self.origin())
        component = Component.objects.in_page_order().get(pk=component.pk)
        return Response(shapes.component(component), status=status.HTTP_201_CREATED)


class ComponentDetail(ManageView):
    """One component; ``PATCH``/``PUT`` change what they name, a status through
    ``Component.set_status`` (only ``change_component_status`` is needed for that alone)."""

    model = Component

    def required_permissions(self, request: Request) -> list[str]:
        if request.method in ("PATCH", "PUT"):
            fields = body_of(request).get("component")
            if isinstance(fields, dict) and set(fields) == {"status"}:
                return ["components.change_component_status"]
        return super().required_permissions(request)

    def get(self, request: Request, page_id: str, code: str) -> Response:
        component = get_or_404(Component.objects.in_page_order(), code, "component")
        return Response(shapes.component(component))

    @transaction.atomic
    def patch(self, request: Request, page_id: str, code: str) -> Response:
        component = get_or_404(Component.objects.select_for_update(), code, "component")
        fields = unwrap(request, "component")
        serializer = ComponentInput(data=fields, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        new_status = data.pop("status", None)
        changed = []
        if "group_id" in data:
            group = _group_of(data.pop("group_id"))
            if group != component.group:
                component.group = group
                component.position = next_page_position(group.pk if group else None)
                changed += ["group", "position"]
        for field, value in data.items():
            setattr(component, field, "" if value is None and field == "description" else value)
            changed.append(field)
        if changed:
            component.full_clean()
            component.save(update_fields=[*changed, "updated_at"])
        if new_status:
            component.set_status(new_status, origin=self.origin())
        component = Component.objects.in_page_order().get(pk=component.pk)
        return Response(shapes.component(component))

    put = patch

    def delete(self, request: Request, page_id: str, code: str) -> Response:
        component = get_or_404(Component.objects.all(), code, "component")
        component.delete()
        return no_content()


class ComponentGroupList(ManageView):
    model = ComponentGroup

    def get(self, request: Request, page_id: str) -> Response:
        groups, components = catalogue()
        members: dict[int, list[Component]] = {g.pk: [] for g in groups}
        for c in components:
            if c.group_id is not None:
                members[c.group_id].append(c)
        listed = [shapes.group(g, members[g.pk]) for g in groups]
        return Response(page_slice(request, listed))

    @transaction.atomic
    def post(self, request: Request, page_id: str) -> Response:
        body = body_of(request)
        data = valid(ComponentGroupInput, unwrap(request, "component_group"))
        group = ComponentGroup(name=data["name"], description=_description(body) or "")
        group.full_clean()
        group.save()
        set_members(group, _members(data["components"]))
        return Response(group_shape(group), status=status.HTTP_201_CREATED)


def _description(body: dict[str, Any]) -> str | None:
    """A group's description: beside the envelope, as Statuspage takes it (or inside)."""
    inner = body.get("component_group")
    value = body.get("description")
    if value is None and isinstance(inner, dict):
        value = inner.get("description")
    if value is None:
        return None
    if not isinstance(value, str):
        raise exceptions.ValidationError({"description": ["Give the description as text."]})
    limits.check_length("description", value, 10_000)
    return value


def _members(codes: list[str]) -> list[Component]:
    found = {c.code: c for c in Component.objects.select_for_update().filter(code__in=codes)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise exceptions.ValidationError(
            {"components": [f"No component has the id “{code}”." for code in unknown]}
        )
    return [found[code] for code in dict.fromkeys(codes)]


class ComponentGroupDetail(ManageView):
    model = ComponentGroup

    def get(self, request: Request, page_id: str, code: str) -> Response:
        return Response(group_shape(get_or_404(ComponentGroup.objects.all(), code, "group")))

    @transaction.atomic
    def patch(self, request: Request, page_id: str, code: str) -> Response:
        group = get_or_404(ComponentGroup.objects.select_for_update(), code, "group")
        body = body_of(request)
        serializer = ComponentGroupInput(data=unwrap(request, "component_group"), partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        description = _description(body)
        changed = []
        if "name" in data:
            group.name = data["name"]
            changed.append("name")
        if description is not None:
            group.description = description
            changed.append("description")
        if changed:
            group.full_clean()
            group.save(update_fields=[*changed, "updated_at"])
        if "components" in data:
            set_members(group, _members(data["components"]))
        return Response(group_shape(group))

    put = patch

    def delete(self, request: Request, page_id: str, code: str) -> Response:
        group = get_or_404(ComponentGroup.objects.all(), code, "group")
        shaped = group_shape(group)
        group.delete()  # its components stay, outside any group
        return Response(shaped)


def uptime_range(request: Request) -> tuple[date, date]:
    """``?start=&end=`` (dates, in the page's time zone), by default the last 90 days."""
    today = local_today()
    end = _date_param(request, "end") or today
    start = _date_param(request, "start") or end - timedelta(days=DEFAULT_UPTIME_DAYS - 1)
    if end > today:
        end = today
    if start > end:
        raise exceptions.ValidationError({"start": ["The range starts after it ends."]})
    if (end - start).days + 1 > MAX_UPTIME_DAYS:
        raise exceptions.ValidationError(
            {"start": [f"Ask for at most {MAX_UPTIME_DAYS} days at a time."]}
        )
    return start, end


def _date_param(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        parsed = date.fromisoformat(raw[:10])
    except ValueError:
        raise exceptions.ValidationError({name: ["Give a date as 2021-09-09."]}) from None
    if parsed.year < 1970:
        raise exceptions.ValidationError({name: ["Give a date from 1970."]})
    return parsed


class ComponentUptime(ManageView):
    """Uptime of one component over a range of days, by the uptime rule of
    ``components.uptime``."""

    model = Component

    def get(self, request: Request, page_id: str, code: str) -> Response:
        component = get_or_404(Component.objects.all(), code, "component")
        start, end = uptime_range(request)
        uptimes = daily_uptime([component], start, end)
        return Response(shapes.uptime(component.code, component.name, uptimes.values(), start, end))


class ComponentGroupUptime(ManageView):
    """A group's uptime: the mean of its components' (as on the status page)."""

    model = ComponentGroup

    def get(self, request: Request, page_id: str, code: str) -> Response:
        group = get_or_404(ComponentGroup.objects.all(), code, "group")
        start, end = uptime_range(request)
        members = list(group.components.all())
        uptimes = daily_uptime(members, start, end)
        return Response(shapes.uptime(group.code, group.name, uptimes.values(), start, end))
