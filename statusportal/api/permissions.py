"""Who may do what through the API: anyone reads, writes follow Django model permissions."""

from typing import TYPE_CHECKING, cast

from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions
from rest_framework.request import Request

if TYPE_CHECKING:  # (DRF imports this module while rest_framework.views loads)
    from django.contrib.auth.models import User
    from rest_framework.views import APIView


def acting_user(request: Request) -> "User":
    """The user behind a write: the permission below lets no anonymous request write."""
    return cast("User", request.user)


class ReadAnyoneWriteWithModelPermission(DjangoModelPermissions):
    """Reads are public (the page is); a write needs an authenticated user holding the
    model permission for the method (``add_…`` for POST, ``change_…`` for PUT/PATCH,
    ``delete_…`` for DELETE), exactly as in the admin. A view may name the permissions
    of its custom actions in ``action_permissions = {"action_name": ["app.codename"]}``,
    or compute them from the request in ``required_permissions(request)``.
    """

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if request.method in SAFE_METHODS and not getattr(view, "private", False):
            return True
        if not request.user or not request.user.is_authenticated:
            return False
        perms = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if perms is None and hasattr(view, "required_permissions"):
            perms = view.required_permissions(request)
        if perms is None:
            if request.method in SAFE_METHODS:
                perms = self.get_required_permissions("GET", self._queryset(view).model)
                # Django's "view" permission, as the admin requires for private lists.
                meta = self._queryset(view).model._meta
                perms = [*perms, f"{meta.app_label}.view_{meta.model_name}"]
            else:
                method = cast(str, request.method)  # (a request has one)
                perms = self.get_required_permissions(method, self._queryset(view).model)
        return bool(request.user.has_perms(perms))
