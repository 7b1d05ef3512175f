"""The three shop roles as Django groups, and the permissions each holds.

Rules are patterns over "app_label.codename"; `deny` wins over `allow`. A new model's permissions reach
the roles whose patterns match it the next time migrate runs (see CrmConfig.ready).
"""

from fnmatch import fnmatch

from django.utils.translation import gettext_lazy as _

MANAGER = "店长"
STAFF = "运营"
AGENT = "客服"
ROLES = (MANAGER, STAFF, AGENT)
ROLE_LABELS = {MANAGER: _("Manager"), STAFF: _("Shop staff"), AGENT: _("Customer service")}

OUR_APPS = ("crm", "customers", "campaigns", "reviews", "aftersales")

ROLE_RULES: dict[str, dict[str, list[str]]] = {
    MANAGER: {
        "allow": [f"{app}.*" for app in OUR_APPS],
        "deny": [],
    },
    STAFF: {
        "allow": [
            "customers.*",
            "campaigns.*",
            "crm.view_job",
            "crm.access_customers",
            "crm.access_campaigns",
        ],
        # Shop staff run marketing; they never see raw contact data or take it out of the system.
        "deny": [
            "customers.view_pii",
            "customers.reveal_pii",
            "customers.export_*",
            "customers.delete_customer",
            "campaigns.approve_*",
            "campaigns.export_*",
        ],
    },
    AGENT: {
        "allow": [
            "customers.view_*",
            "customers.add_customernote",
            "reviews.*",
            "aftersales.*",
            "crm.view_job",
            "crm.access_customers",
            "crm.access_reviews",
            "crm.access_aftersales",
        ],
        "deny": [
            "customers.view_pii",
            "customers.reveal_pii",
            "customers.*_segment",
            "customers.export_segment",
            "customers.add_tier",
            "customers.change_tier",
            "customers.delete_tier",
            "customers.add_tag",
            "customers.change_tag",
            "customers.delete_tag",
            "*.export_*",
        ],
    },
}


# Nobody edits these by hand: the audit log and the timeline are append-only, orders come from imports.
GLOBAL_DENY = [
    "crm.add_auditevent",
    "crm.change_auditevent",
    "crm.delete_auditevent",
    "customers.change_timelineevent",
    "customers.delete_timelineevent",
    *(f"customers.{action}_{model}" for action in ("add", "change", "delete")
      for model in ("order", "orderline", "refund", "importfile")),
]


def role_allows(role: str, perm: str) -> bool:
    rules = ROLE_RULES[role]
    if any(fnmatch(perm, pattern) for pattern in GLOBAL_DENY + rules["deny"]):
        return False
    return any(fnmatch(perm, pattern) for pattern in rules["allow"])


def sync_roles(apps=None) -> None:
    """Create the role groups and give each exactly the permissions its rules match."""
    if apps is None:
        from django.apps import apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label__in=OUR_APPS).select_related("content_type")
    )
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        allowed = [p for p in permissions if role_allows(role, f"{p.content_type.app_label}.{p.codename}")]
        group.permissions.set(allowed)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # Permissions are created app by app in this same signal, so sync after each of ours.
    if sender.name in OUR_APPS:
        sync_roles()


def role_of(user) -> str | None:
    """The user's role; a superuser counts as manager. None for a user with no role."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return MANAGER
    names = {g.name for g in user.groups.all()}
    return next((role for role in ROLES if role in names), None)
