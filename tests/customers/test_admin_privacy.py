"""/admin/ masks customers' and orders' contact data and sends a reveal through the logged reveal."""

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from tests.customers.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

RAW = ("13812341234", "王玫瑰", "文三路", "wang@example.com", "13611112222", "赵收件", "建国路")


def test_the_customer_change_page_shows_contact_data_masked(admin_client):
    customer = CustomerFactory(phone="13812341234", phone_tail="1234", real_name="王玫瑰",
                               email="wang@example.com", address="文三路 100 号 3 幢 501")

    response = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "138****1234" in page and "王**" in page
    for raw in RAW:
        assert raw not in page
    assert reverse("customers:detail", args=[customer.pk]) in page  # where the logged reveal is


def test_the_order_change_page_shows_the_receiver_masked(admin_client):
    order = OrderFactory(receiver_phone="13611112222", receiver_name="赵收件",
                         receiver_address="北京市 朝阳区 建国路88号 国贸大厦 1201")

    page = admin_client.get(reverse("admin:customers_order_change", args=[order.pk])).content.decode()

    assert "136****2222" in page and "北京市 朝阳区 ****" in page
    for raw in RAW:
        assert raw not in page


def test_a_reveal_reached_from_the_admin_is_logged(admin_client, superuser):
    customer = CustomerFactory(phone="13812341234", phone_tail="1234")

    response = admin_client.post(reverse("customers:reveal", args=[customer.pk]), {"reason": "核对地址"},
                                 follow=True)  # the reveal redirects (PRG) to the page that shows it once

    assert "13812341234" in response.content.decode()
    assert AuditEvent.objects.filter(action="reveal", actor=superuser, object_id=str(customer.pk)).exists()
