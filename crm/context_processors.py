from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import ROLE_LABELS, role_of

# (label, url name, permission that opens it — None: any signed-in user —, what the area is for).
# The order is the sidebar's.
NAVIGATION = [
    (_("Home"), "home", None, ""),
    (_("Customers"), "customers:list", "customers.view_customer",
     _("Every buyer with orders, addresses, notes and history.")),
    (_("Import orders"), "customers:import", "customers.import_orders",
     _("Upload the seller-centre order, item and refund exports.")),
    (_("Segments"), "customers:segments", "customers.view_segment",
     _("RFM, lifecycle stages, tags, tiers and saved customer groups.")),
    (_("Marketing"), "campaigns:index", "crm.access_campaigns", _("Coupons and campaigns to segments.")),
    (_("Reviews"), "reviews:index", "crm.access_reviews", _("Reviews, bad-review recovery and surveys.")),
    (_("After-sales"), "aftersales:index", "crm.access_aftersales", _("Complaints, returns and refunds.")),
    (_("Dashboards"), "dashboard", "crm.access_dashboard", _("The shop at a glance.")),
    (_("Jobs"), "jobs", "crm.view_job", _("Imports and other long work, with progress.")),
    (_("Staff accounts"), "staff:list", "superuser", _("Who can sign in, and with which role.")),
]


def allowed_navigation(user) -> list[dict]:
    items = []
    for label, url_name, perm, description in NAVIGATION:
        if perm == "superuser":
            visible = user.is_superuser
        else:
            visible = perm is None or user.has_perm(perm)
        if visible:
            items.append({"label": label, "url_name": url_name, "url": reverse(url_name), "description": description})
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
