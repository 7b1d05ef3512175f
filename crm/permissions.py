"""API permission: authenticated, and the user's role holds the permission the view needs."""

from rest_framework.permissions import BasePermission

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def required_permissions(view, method: str) -> list[str] | None:
    """What `view` needs for `method`: its `required_permissions` (a list, or a dict by method), else the
    model permission of its queryset's model. None means the view declared nothing: refuse."""
    declared = getattr(view, "required_permissions", None)
    if isinstance(declared, dict):
        return declared.get(method, declared.get("*"))
    if declared is not None:
        return list(declared)
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        return None
    meta = queryset.model._meta
    return [f"{meta.app_label}.{METHOD_ACTIONS.get(method, 'change')}_{meta.model_name}"]


class RolePermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        perms = required_permissions(view, request.method)
        if perms is None:
            return False
        return user.has_perms(perms)
