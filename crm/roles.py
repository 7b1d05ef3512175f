"""The three shop roles as Django groups, and the permissions each holds.

Each app registers its rules (crm.registry.register_role_rules): patterns over "app_label.codename" per role;
`deny` wins over `allow`, and a deny registered by any app applies to every role. A new model's permissions
reach the roles whose patterns match it the next time migrate runs (see CrmConfig.ready).
"""

from fnmatch import fnmatch

from django.utils.translation import gettext_lazy as _

from .registry import register_role_rules, registry

MANAGER = "店长"
STAFF = "运营"
AGENT = "客服"
ROLES = (MANAGER, STAFF, AGENT)
ROLE_LABELS = {MANAGER: _("Manager"), STAFF: _("Shop staff"), AGENT: _("Customer service")}


def our_apps() -> list[str]:
    """The apps whose permissions the roles are synced over: those that registered role rules."""
    return list(registry.role_rules)


def role_rules(role: str) -> tuple[list[str], list[str]]:
    """The allow and deny patterns of a role, over every app's registered rules."""
    allow: list[str] = []
    deny: list[str] = list(registry.global_deny)
    for rules in registry.role_rules.values():
        allow += rules.get(role, {}).get("allow", [])
        deny += rules.get(role, {}).get("deny", [])
    return allow, deny


def register_kernel_role_rules() -> None:
    """The kernel's own permissions: jobs, the audit log, the dashboard area."""
    register_role_rules(
        "crm",
        {
            MANAGER: {"allow": ["crm.*"]},
            STAFF: {"allow": ["crm.view_job"]},
            # Agents serve customers one at a time: no export of anything, from any app.
            AGENT: {"allow": ["crm.view_job"], "deny": ["*.export_*"]},
        },
        # Nobody edits the audit log by hand: it is append-only.
        deny_all=["crm.add_auditevent", "crm.change_auditevent", "crm.delete_auditevent"],
    )


def role_allows(role: str, perm: str) -> bool:
    allow, deny = role_rules(role)
    if any(fnmatch(perm, pattern) for pattern in deny):
        return False
    return any(fnmatch(perm, pattern) for pattern in allow)


def sync_roles(apps=None) -> None:
    """Create the role groups and give each exactly the permissions its rules match."""
    if apps is None:
        from django.apps import apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.filter(content_type__app_label__in=our_apps()).select_related("content_type")
    )
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        allowed = [p for p in permissions if role_allows(role, f"{p.content_type.app_label}.{p.codename}")]
        group.permissions.set(allowed)


def sync_roles_after_migrate(sender, **kwargs) -> None:
    # Permissions are created app by app in this same signal, so sync after each of ours.
    if sender.label in our_apps():
        sync_roles()


def role_of(user) -> str | None:
    """The user's role; a superuser counts as manager. None for a user with no role."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return MANAGER
    names = {g.name for g in user.groups.all()}
    return next((role for role in ROLES if role in names), None)
