"""What a role sees it can open: every link on the pages a role reaches answers that role with a page, never a
403; and the 403/404 pages are the app's own, in Chinese."""

import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import CustomerFactory, CustomerScoreFactory, OrderFactory, OrderLineFactory, TagFactory

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/[^"#]*)"')
POST_FORM = re.compile(r'<form method="post" action="(/[^"#]*)"')
# Links that are not pages to open: language switching, file downloads, the admin (its own login page).
NOT_PAGES = ("/i18n/", "/static/", "/admin/", "/customers/export/", "/accounts/logout/")


@pytest.fixture
def shop():
    customer = CustomerFactory(total_paid=Decimal("1234.50"), order_count=1, paid_order_count=1,
                               last_paid_at=timezone.now())
    CustomerScoreFactory(customer=customer, rfm_group="important_value", lifecycle_stage="active")
    customer.tags.add(TagFactory(), through_defaults={})
    OrderLineFactory(order=OrderFactory(customer=customer))
    return customer


def _links(page: str) -> set[str]:
    return {url.replace("&amp;", "&") for url in HREF.findall(page) if not url.startswith(NOT_PAGES)}


@pytest.mark.parametrize("role", ["agent", "staff", "manager", "outsider"])
def test_every_link_a_role_is_shown_opens_for_that_role(role, shop, client_for, request):
    client = client_for(request.getfixturevalue(role))
    start = ["/", reverse("customers:list"), reverse("customers:detail", args=[shop.pk]),
             reverse("customers:segments"), reverse("customers:rfm"), reverse("customers:orders"),
             reverse("customers:tiers"), reverse("customers:tags"), reverse("jobs")]
    seen, broken = set(), []
    for url in start:
        response = client.get(url)
        if response.status_code != 200:
            continue  # a page the role cannot open at all is checked by tests/crm/test_url_access.py
        page = response.content.decode()
        for link in _links(page) - seen:
            seen.add(link)
            if client.get(link).status_code == 403:
                broken.append((url, link))
        for action in set(POST_FORM.findall(page)) - seen:  # a form shown must be one the role may send
            seen.add(action)
            if client.post(action, {}).status_code == 403:
                broken.append((url, action))

    assert broken == []


def test_a_forbidden_page_is_the_apps_page_in_chinese(client_for, agent):
    response = client_for(agent).get(reverse("dashboard"))

    page = response.content.decode()
    assert response.status_code == 403
    assert "没有权限" in page and 'id="nav"' in page  # the app's shell, with its navigation


def test_a_missing_page_is_the_apps_page_in_chinese(client_for, manager):
    response = client_for(manager).get(reverse("customers:detail", args=[999999]))

    page = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in page and 'id="nav"' in page


@override_settings(DEBUG=False)
def test_the_server_error_page_renders_without_a_request_context(client):
    from django.test import RequestFactory
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/"))

    page = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错" in page and "回客" in page
