"""What each app adds to the shared kernel, registered from its AppConfig.ready().

The kernel (`crm`) imports no app. An app plugs in by calling these in its `ready()`:

    register_urls("campaigns/", "campaigns.urls")                   # its pages under a prefix
    register_api(register)                                           # a function that adds viewsets to the router
    register_navigation("campaigns:index", _("Marketing"), permission="campaigns.access", order=40, ...)
    register_audit_actions({"coupon_issue": _("Coupon issued")})     # labels for the audit log; no migration
    register_beat("coupons-expire", "campaigns.tasks.coupons_expire_task", crontab(hour=1))
    register_role_rules("campaigns", {STAFF: {"allow": ["campaigns.*"], "deny": ["campaigns.approve_*"]}})
    register_marketing_exclusion("open_complaint", _("Open complaint"), "aftersales.selectors.open_complaint_ids")

Everything here is read after the app registry is ready (URLconf, router, context processor, Celery beat,
post_migrate), so the order in which apps register does not matter; `order` sets the sidebar's order.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class NavigationEntry:
    url_name: str
    label: str
    permission: str | None  # None: any signed-in user; "superuser": superusers only
    description: str = ""
    order: int = 100


@dataclass(frozen=True)
class MarketingExclusion:
    code: str
    label: str
    selector: str  # dotted path to fn(customer_ids, *, now) -> set of customer ids to exclude


@dataclass
class Registry:
    urls: list[tuple[str, str]] = field(default_factory=list)
    api: list[Callable] = field(default_factory=list)
    navigation: dict[str, NavigationEntry] = field(default_factory=dict)
    audit_actions: dict[str, str] = field(default_factory=dict)
    beat: dict[str, dict] = field(default_factory=dict)
    role_rules: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)
    global_deny: list[str] = field(default_factory=list)
    marketing_exclusions: dict[str, "MarketingExclusion"] = field(default_factory=dict)


registry = Registry()


def register_urls(prefix: str, urlconf: str) -> None:
    """Mount an app's URLconf module (dotted path, with its own app_name) under `prefix` ("campaigns/")."""
    if (prefix, urlconf) not in registry.urls:
        registry.urls.append((prefix, urlconf))


def register_api(add_routes: Callable) -> None:
    """`add_routes(router)` registers the app's viewsets on the one API router."""
    if add_routes not in registry.api:
        registry.api.append(add_routes)


def register_navigation(
    url_name: str, label, *, permission: str | None, description="", order: int = 100
) -> None:
    registry.navigation[url_name] = NavigationEntry(url_name, label, permission, description, order)


def register_area(app_label: str, label, *, description="", order: int = 100) -> None:
    """An app's own area: its URLconf `<app>.urls` under `<app>/`, and a sidebar entry to its `index` page
    shown to whoever holds `<app>.access` (the permission its unmanaged Area model holds)."""
    register_urls(f"{app_label}/", f"{app_label}.urls")
    register_navigation(f"{app_label}:index", label, permission=f"{app_label}.access", description=description,
                        order=order)


def navigation_entries() -> list[NavigationEntry]:
    return sorted(registry.navigation.values(), key=lambda entry: entry.order)


def register_audit_actions(labels) -> None:
    """`labels`: a mapping or (code, label) pairs, e.g. a TextChoices' `.choices`. A code belongs to one app."""
    for code, label in dict(labels).items():
        known = registry.audit_actions.get(code)
        if known is not None and str(known) != str(label):
            raise ImproperlyConfigured(f"Audit action {code!r} is registered twice with different labels.")
        registry.audit_actions[code] = label


def audit_action_label(code: str) -> str:
    return str(registry.audit_actions.get(code, code))


def audit_action_choices() -> list[tuple[str, str]]:
    return sorted(((code, str(label)) for code, label in registry.audit_actions.items()), key=lambda c: c[1])


def register_beat(name: str, task: str, schedule, **options) -> None:
    """A periodic task for Celery beat. Say why it runs when it does where you call this."""
    registry.beat[name] = {"task": task, "schedule": schedule, **options}


def register_role_rules(app_label: str, rules: dict[str, dict[str, list[str]]], *, deny_all=()) -> None:
    """Which of the app's permissions each role holds: {role: {"allow": [patterns], "deny": [patterns]}}.
    `deny_all`: permissions no role holds (append-only records, rows only imports write). The app's label
    joins the apps whose permissions the roles are synced over."""
    registry.role_rules[app_label] = rules
    registry.global_deny.extend(pattern for pattern in deny_all if pattern not in registry.global_deny)


def register_marketing_exclusion(code: str, label, selector: str) -> None:
    """A reason another app gives for keeping customers out of marketing (after-sales: an open complaint).
    The sending path's compliance gate calls every registered selector, by dotted path, so neither app
    imports the other: `selector(customer_ids, *, now)` returns the ids among them to exclude."""
    registry.marketing_exclusions[code] = MarketingExclusion(code, label, selector)


def marketing_exclusions() -> list[MarketingExclusion]:
    return list(registry.marketing_exclusions.values())
