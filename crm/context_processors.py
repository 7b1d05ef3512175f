from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import ROLE_LABELS, role_of

# (label, url name, permission that opens it; None: any signed-in user). The order is the sidebar's.
NAVIGATION = [
    (_("Home"), "home", None),
    (_("Customers"), "customers:list", "customers.view_customer"),
    (_("Import orders"), "customers:import", "customers.import_orders"),
    (_("Segments"), "customers:segments", "customers.view_segment"),
    (_("Marketing"), "campaigns:index", "crm.access_campaigns"),
    (_("Reviews"), "reviews:index", "crm.access_reviews"),
    (_("After-sales"), "aftersales:index", "crm.access_aftersales"),
    (_("Dashboards"), "dashboard", "crm.access_dashboard"),
    (_("Jobs"), "jobs", "crm.view_job"),
    (_("Staff accounts"), "staff:list", "superuser"),
]


def allowed_navigation(user) -> list[dict]:
    items = []
    for label, url_name, perm in NAVIGATION:
        if perm == "superuser":
            visible = user.is_superuser
        else:
            visible = perm is None or user.has_perm(perm)
        if visible:
            items.append({"label": label, "url_name": url_name, "url": reverse(url_name)})
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
