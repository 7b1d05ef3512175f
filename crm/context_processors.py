from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .registry import navigation_entries, register_navigation
from .roles import ROLE_LABELS, role_of


def register_kernel_navigation() -> None:
    """The kernel's own entries; apps add theirs with register_navigation (crm.registry)."""
    register_navigation("home", _("Home"), permission=None, order=0)
    register_navigation("dashboard", _("Dashboards"), permission="crm.access_dashboard",
                        description=_("The shop at a glance."), order=80)
    register_navigation("jobs", _("Jobs"), permission="crm.view_job",
                        description=_("Imports and other long work, with progress."), order=90)
    register_navigation("staff:list", _("Staff accounts"), permission="superuser",
                        description=_("Who can sign in, and with which role."), order=100)


def allowed_navigation(user) -> list[dict]:
    items = []
    for entry in navigation_entries():
        if entry.permission == "superuser":
            visible = user.is_superuser
        else:
            visible = entry.permission is None or user.has_perm(entry.permission)
        if visible:
            items.append({"label": entry.label, "url_name": entry.url_name, "url": reverse(entry.url_name),
                          "description": entry.description})
    return items


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    context = {"shop_name": settings.HUIKE_SHOP_NAME}
    if user is None or not user.is_authenticated:
        return context
    role = role_of(user)
    items = allowed_navigation(user)
    # The longest matching prefix is the current area (so /customers/import/ lights "Import", not "Customers").
    matches = [item for item in items if request.path.startswith(item["url"]) and item["url"] != "/"]
    current = max(matches, key=lambda item: len(item["url"]), default=None)
    for item in items:
        item["active"] = item is current or (item["url"] == "/" and request.path == "/")
    context["nav_items"] = items
    context["user_role"] = ROLE_LABELS.get(role, "") if role else ""
    return context
