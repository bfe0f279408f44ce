"""The page order: groups and components outside any group share one order; components in
a group have an order within it (docs/architecture.md, "Page order").

New items are appended by ``next_page_position`` (models); operators move items up and
down in the admin through ``move``, which renumbers the item's siblings so the order never
depends on names or ties again.
"""

from dataclasses import dataclass, field

from django.db import transaction

from components.models import (
    Component,
    ComponentGroup,
    group_page_key,
    next_page_position,
    page_key,
)


@dataclass
class PageItem:
    """A positioned item of the page: a group with its members, or a lone component."""

    group: ComponentGroup | None = None
    component: Component | None = None
    members: list[Component] = field(default_factory=list)

    @property
    def item(self) -> ComponentGroup | Component:
        return self.group or self.component  # type: ignore[return-value]


def page_items() -> list[PageItem]:
    """Every group (even an empty one) and every component outside a group, in page
    order, groups with their members in order. Two queries."""
    items: list[tuple[tuple, PageItem]] = []
    by_group: dict[int, PageItem] = {}
    for group in ComponentGroup.objects.all():
        by_group[group.pk] = PageItem(group=group)
        items.append((group_page_key(group), by_group[group.pk]))
    for component in sorted(Component.objects.select_related("group"), key=page_key):
        if component.group_id is None:
            items.append((page_key(component)[:4], PageItem(component=component)))
        else:
            by_group[component.group_id].members.append(component)
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def _siblings(item: ComponentGroup | Component) -> list[ComponentGroup | Component]:
    """The items ``item`` is ordered among, in their current order."""
    if isinstance(item, Component) and item.group_id is not None:
        members = Component.objects.select_related("group").filter(group_id=item.group_id)
        return [*sorted(members, key=page_key)]
    return [entry.item for entry in page_items()]


@transaction.atomic
def move(item: ComponentGroup | Component, step: int) -> bool:
    """Move ``item`` ``step`` places (-1: up, 1: down) among its siblings and number them
    0, 1, 2… in the new order. False when it is already first (or last)."""
    # One move at a time: concurrent moves would renumber from stale orders.
    list(ComponentGroup.objects.select_for_update().values_list("pk", flat=True))
    list(Component.objects.select_for_update().filter(group__isnull=True).values_list("pk"))
    siblings = _siblings(item)
    index = next(i for i, s in enumerate(siblings) if type(s) is type(item) and s.pk == item.pk)
    target = index + step
    if not 0 <= target < len(siblings):
        return False
    siblings.insert(target, siblings.pop(index))
    for number, sibling in enumerate(siblings):
        if sibling.position != number:
            sibling.position = number
            # A save (not an update): the page's revision moves with it.
            sibling.save(update_fields=["position", "updated_at"])
    return True


@transaction.atomic
def set_members(group: ComponentGroup, members: list[Component]) -> None:
    """Make ``members`` the group's components, in this order (positions 0, 1, 2…); a
    component that leaves the group goes last on the page, as a new item would."""
    chosen = {c.pk for c in members}
    for leaving in Component.objects.select_for_update().filter(group=group).exclude(pk__in=chosen):
        leaving.group = None
        leaving.position = next_page_position()  # last on the page
        leaving.save(update_fields=["group", "position", "updated_at"])
    for position, member in enumerate(members):
        member.group = group
        member.position = position
        member.save(update_fields=["group", "position", "updated_at"])
