"""Every URL × every role → the expected status. A new URL without an entry here fails the suite (zulip's rule):
access rules are decided on purpose, not by accident."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import CustomerFactory, JobFactory, OrderFactory

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

# url name → (kwargs factory or None, expected status by role). GET requests.
EXPECTED = {
    "home": (None, SIGNED_IN),
    "healthz": (None, PUBLIC),
    "login": (None, row(200, 302, 302, 302, 302)),  # signed-in users are sent on
    "logout": (None, row(405, 405, 405, 405, 405)),  # POST only
    "password_change": (None, SIGNED_IN),
    "password_change_done": (None, SIGNED_IN),
    "set_language": (None, row(302, 302, 302, 302, 302)),  # a GET just redirects back
    "dashboard": (None, MANAGER_ONLY),
    "jobs": (None, row(LOGIN, 403, 200, 200, 200)),
    "job-detail": (lambda: {"pk": JobFactory().pk}, row(LOGIN, 403, 404, 404, 200)),  # not their job
    "staff:list": (None, SUPERUSER_ONLY),
    "staff:create": (None, SUPERUSER_ONLY),
    "staff:edit": (lambda: {"pk": _any_user_pk()}, SUPERUSER_ONLY),
    "staff:password": (lambda: {"pk": _any_user_pk()}, SUPERUSER_ONLY),
    "customers:list": (None, CUSTOMERS_READ),
    "customers:detail": (lambda: {"pk": _a_customer_pk()}, CUSTOMERS_READ),
    "customers:edit": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 403, 200, 200)),
    "customers:export": (None, MANAGER_ONLY),  # a GET downloads the CSV (and is logged)
    "customers:merge": (lambda: {"pk": _a_customer_pk()}, row(LOGIN, 403, 403, 200, 200)),
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
    "campaigns:index": (None, MARKETING),
    "reviews:index": (None, SERVICE),
    "aftersales:index": (None, SERVICE),
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
