"""Every URL × every role → the expected status. A new URL without an entry here fails the suite (zulip's rule):
access rules are decided on purpose, not by accident."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.crm.factories import JobFactory
from tests.customers.factories import CustomerFactory, OrderFactory

ROLES = ("anonymous", "outsider", "agent", "staff", "manager", "superuser")
LOGIN = 302  # HTML pages send anonymous visitors to the login page
API_ANON = 403  # DRF with session auth first answers 403 to an anonymous caller


def row(anonymous, outsider, agent, staff, manager, superuser=None):
    return dict(zip(ROLES, (anonymous, outsider, agent, staff, manager, manager if superuser is None else superuser),
                    strict=True))


PUBLIC = row(200, 200, 200, 200, 200)
SIGNED_IN = row(LOGIN, 200, 200, 200, 200)
MANAGER_ONLY = row(LOGIN, 403, 403, 403, 200)
SUPERUSER_ONLY = row(LOGIN, 403, 403, 403, 403, 200)
CUSTOMERS_READ = row(LOGIN, 403, 200, 200, 200)
MARKETING = row(LOGIN, 403, 403, 200, 200)
SERVICE = row(LOGIN, 403, 200, 403, 200)
API_SIGNED_IN = row(API_ANON, 200, 200, 200, 200)
API_CUSTOMERS_READ = row(API_ANON, 403, 200, 200, 200)
API_MARKETING = row(API_ANON, 403, 403, 200, 200)
POST_MARKETING = row(LOGIN, 403, 403, 405, 405)  # a POST-only action of marketing staff, asked with GET

# url name → (kwargs factory or None, expected status by role). GET requests.
EXPECTED = {
    "home": (None, SIGNED_IN),
    "healthz": (None, PUBLIC),
    "login": (None, row(200, 302, 302, 302, 302)),  # signed-in users are sent on
    "logout": (None, row(405, 405, 405, 405, 405)),  # POST only
    "password_change": (None, SIGNED_IN),
    "password_change_done": (None, SIGNED_IN),
    "api-token-page": (None, SIGNED_IN),
    "set_language": (None, row(302, 302, 302, 302, 302)),  # a GET just redirects back
    "dashboard": (None, MANAGER_ONLY),
    "jobs": (None, row(LOGIN, 403, 200, 200, 200)),
    "job-detail": (lambda: {"pk": JobFactory().pk}, row(LOGIN, 403, 404, 404, 200)),  # not their job
    "staff:list": (None, SUPERUSER_ONLY),
    "staff:create": (None, SUPERUSER_ONLY),
    "staff:edit": (lambda: {"pk": _any_user_pk()}, SUPERUSER_ONLY),
    "staff:password": (lambda: {"pk": _any_user_pk()}, SUPERUSER_ONLY),
    "staff:token-revoke": (lambda: {"pk": _any_user_pk()}, row(LOGIN, 403, 403, 403, 403, 405)),  # POST only
    "customers:list": (None, CUSTOMERS_READ),
    "customers:count": (None, CUSTOMERS_READ),
    "customers:detail": (lambda: {"pk": _a_customer_pk()}, CUSTOMERS_READ),
    "customers:edit": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 403, 200, 200)),
    # Only the manager who asked for the export gets its file; anybody else's job (here: a plain job) is a 404.
    "customers:export-download": (lambda: {"pk": JobFactory().pk}, row(LOGIN, 403, 403, 403, 404)),
    "customers:create": (None, row(LOGIN, 403, 403, 200, 200)),  # shop staff and managers enter customers
    "customers:export": (None, MANAGER_ONLY),  # a GET downloads the CSV (and is logged)
    "customers:merge": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 403, 200, 200)),
    "customers:merge-candidates": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 403, 200, 200)),
    "customers:merge-undo": (lambda: {"pk": 1}, row(LOGIN, 403, 403, 405, 405)),  # POST only
    "customers:note-add": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 405, 405, 405)),  # POST only
    "customers:reveal": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 403, 403, 405)),  # POST, managers
    "customers:orders": (None, CUSTOMERS_READ),
    "customers:order-detail": (lambda: {"pk": _an_order_pk()}, CUSTOMERS_READ),
    "customer-list": (None, API_CUSTOMERS_READ),
    "customer-detail": (lambda: {"pk": _a_customer_pk()}, API_CUSTOMERS_READ),
    "customer-reveal": (lambda: {"pk": _a_customer_pk()}, row(API_ANON, 403, 405, 405, 405)),  # POST only
    "order-list": (None, API_CUSTOMERS_READ),
    "order-detail": (lambda: {"pk": _an_order_pk()}, API_CUSTOMERS_READ),
    "customers:import": (None, MARKETING),
    "customers:segments": (None, MARKETING),
    # Segmentation (customers/segmentation/urls.py, customers/segmentation/api.py): marketing builds segments; the agent
    # may read tags, tiers and points but change nothing; only a manager exports members.
    "customers:segment-create": (None, MARKETING),
    "customers:segment-count": (None, POST_MARKETING),
    "customers:rfm": (None, MARKETING),
    "customers:segmentation-settings": (None, MARKETING),
    "customers:segment-detail": (lambda: {"pk": _a_segment_pk()}, MARKETING),
    "customers:segment-edit": (lambda: {"pk": _a_segment_pk()}, MARKETING),
    "customers:segment-delete": (lambda: {"pk": _a_segment_pk()}, POST_MARKETING),
    "customers:segment-saved-count": (lambda: {"pk": _a_segment_pk()}, MARKETING),
    "customers:segment-export": (lambda: {"pk": _a_segment_pk()}, MANAGER_ONLY),
    "customers:tiers": (None, CUSTOMERS_READ),
    "customers:tier-create": (None, MARKETING),
    "customers:tier-edit": (lambda: {"pk": _a_tier_pk()}, MARKETING),
    "customers:tier-review": (None, POST_MARKETING),
    "customers:tags": (None, CUSTOMERS_READ),
    "customers:tag-bulk": (None, POST_MARKETING),
    "customers:autotag-create": (None, MARKETING),
    "customers:autotag-edit": (lambda: {"pk": _an_autotag_rule_pk()}, MARKETING),
    "customers:customer-tag": (lambda: {"pk": _a_customer_pk()}, POST_MARKETING),
    "customers:customer-tier": (lambda: {"pk": _a_customer_pk()}, MARKETING),
    "customers:points": (lambda: {"pk": _a_customer_pk()}, CUSTOMERS_READ),
    "segment-list": (None, API_MARKETING),
    "segment-detail": (lambda: {"pk": _a_segment_pk()}, API_MARKETING),
    "segment-count": (lambda: {"pk": _a_segment_pk()}, API_MARKETING),
    "segment-members": (lambda: {"pk": _a_segment_pk()}, API_MARKETING),
    "segment-insight": (lambda: {"pk": _a_segment_pk()}, API_MARKETING),
    "segment-fields": (None, API_MARKETING),
    "segment-preview": (None, row(API_ANON, 403, 403, 405, 405)),  # POST only
    "tag-list": (None, API_CUSTOMERS_READ),
    "tag-detail": (lambda: {"pk": _a_tag_pk()}, API_CUSTOMERS_READ),
    "tag-assign": (lambda: {"pk": _a_tag_pk()}, row(API_ANON, 403, 405, 405, 405)),  # POST only
    "tag-unassign": (lambda: {"pk": _a_tag_pk()}, row(API_ANON, 403, 405, 405, 405)),  # POST only
    "tier-list": (None, API_CUSTOMERS_READ),
    "tier-detail": (lambda: {"pk": _a_tier_pk()}, API_CUSTOMERS_READ),
    "tier-assign": (None, row(API_ANON, 403, 405, 405, 405)),  # POST only
    "tier-review": (None, row(API_ANON, 403, 405, 405, 405)),  # POST only
    "points-list": (None, API_CUSTOMERS_READ),
    "points-detail": (lambda: {"pk": _a_points_entry_pk()}, API_CUSTOMERS_READ),
    "autotag-rule-list": (None, API_CUSTOMERS_READ),
    "autotag-rule-detail": (lambda: {"pk": _an_autotag_rule_pk()}, API_CUSTOMERS_READ),
    "campaigns:index": (None, MARKETING),
    "reviews:index": (None, SERVICE),
    "aftersales:index": (None, SERVICE),
    "import-job-list": (None, API_MARKETING),
    # Someone else's import: staff see only their own jobs, managers see all.
    "import-job-detail": (lambda: {"pk": JobFactory(kind="import_orders").pk}, row(API_ANON, 403, 403, 404, 200)),
    "api-root": (None, API_SIGNED_IN),
    "api-token": (None, row(405, 405, 405, 405, 405)),  # POST only
    "api-schema": (None, API_SIGNED_IN),
    "api-docs": (None, API_SIGNED_IN),
}

IGNORED_NAMESPACES = ("admin",)  # Django's admin guards itself (is_staff)


def _a_customer_pk() -> int:
    from customers.models import Customer

    return Customer.objects.order_by("pk").first().pk


def _an_order_pk() -> int:
    from customers.models import Order

    return Order.objects.order_by("pk").first().pk


def _a_segment_pk() -> int:
    from customers.models import Segment

    everyone = {"op": "and", "conditions": []}
    return Segment.objects.get_or_create(name="全部客户", defaults={"definition": everyone})[0].pk


def _a_tag_pk() -> int:
    from customers.models import Tag

    return Tag.objects.get_or_create(name="老客")[0].pk


def _a_tier_pk() -> int:
    from customers.models import Tier

    return Tier.objects.get_or_create(rank=1, defaults={"name": "普通会员"})[0].pk


def _an_autotag_rule_pk() -> int:
    from customers.models import AutoTagRule, Tag

    tag = Tag.objects.get_or_create(name="大客户")[0]
    return AutoTagRule.objects.get_or_create(name="大客户", tag=tag)[0].pk


def _a_points_entry_pk() -> int:
    from customers.models import PointsEntry

    return PointsEntry.objects.create(customer_id=_a_customer_pk(), delta=10, kind="adjust", reason="test").pk


def _any_user_pk() -> int:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.order_by("pk").first().pk


def _named_urls(patterns=None, namespace=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_urls(pattern.url_patterns, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


ALL_NAMES = sorted({n for n in _named_urls() if not n.startswith(tuple(f"{ns}:" for ns in IGNORED_NAMESPACES))})


def test_every_url_has_an_entry_in_the_access_table():
    missing = [name for name in ALL_NAMES if name not in EXPECTED]

    assert missing == [], f"Add these URLs to EXPECTED with the status each role should get: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_gets_the_expected_status(name, client, request):
    kwargs_factory, expected = EXPECTED[name]
    personas = {role: request.getfixturevalue(role) for role in ROLES if role != "anonymous"}
    OrderFactory(customer=CustomerFactory())  # objects for detail pages to find
    url = reverse(name, kwargs=kwargs_factory() if kwargs_factory else None)

    actual = {}
    for role in ROLES:
        client.logout()
        if role != "anonymous":
            client.force_login(personas[role])
        actual[role] = client.get(url).status_code

    assert actual == expected
