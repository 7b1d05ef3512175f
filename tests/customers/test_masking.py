"""Contact details are masked for everyone; a manager reveals one customer's, with a logged reason."""

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from customers.models import TimelineEvent
from tests.customers.factories import CustomerAddressFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    customer = CustomerFactory(phone="13812341234", phone_tail="1234", real_name="王玫瑰",
                               address="文三路 100 号 3 幢 501")
    CustomerAddressFactory(customer=customer, phone="13755556666", receiver_name="李收货", detail="五常街道 8 号")
    OrderFactory(customer=customer, receiver_phone="13611112222", receiver_name="赵收件",
                 receiver_address="浙江省 杭州市 余杭区 五常街道 8 号")
    return customer


RAW = ("13812341234", "王玫瑰", "文三路", "13755556666", "李收货", "五常街道", "13611112222", "赵收件")


@pytest.mark.parametrize("role", ["agent", "staff", "manager"])
def test_every_role_sees_phones_names_and_addresses_masked_on_the_customer_page(role, customer, client_for, request):
    user = request.getfixturevalue(role)

    page = client_for(user).get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert "138****1234" in page
    assert "137****6666" in page and "136****2222" in page
    for raw in RAW:
        assert raw not in page


def test_a_manager_reveals_one_customer_with_a_reason_and_it_is_logged(customer, client_for, manager):
    url = reverse("customers:reveal", args=[customer.pk])

    response = client_for(manager).post(url, {"reason": "客户来电要求改地址"}, follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("customers:detail", args=[customer.pk]), 302)]
    assert "13812341234" in page and "王玫瑰" in page and "13611112222" in page
    assert response["Cache-Control"] == "no-store"
    audit = AuditEvent.objects.get(action="reveal")
    assert (audit.actor, audit.object_id, audit.reason) == (manager, str(customer.pk), "客户来电要求改地址")
    assert TimelineEvent.objects.filter(customer=customer, kind="contact_revealed").count() == 1


def test_the_reveal_lasts_one_response_and_the_next_visit_is_masked_again(customer, client_for, manager):
    client = client_for(manager)
    client.post(reverse("customers:reveal", args=[customer.pk]), {"reason": "核对退款"}, follow=True)

    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert "13812341234" not in page


def test_a_reveal_redirects_so_a_reload_posts_nothing_again(customer, client_for, manager):
    client = client_for(manager)

    response = client.post(reverse("customers:reveal", args=[customer.pk]), {"reason": "核对退款"})
    shown = client.get(response["Location"])
    reloaded = client.get(response["Location"])

    assert response.status_code == 302
    assert "13812341234" in shown.content.decode() and shown["Cache-Control"] == "no-store"
    assert "13812341234" not in reloaded.content.decode()
    assert AuditEvent.objects.filter(action="reveal").count() == 1


def test_a_reveal_without_a_reason_is_refused_and_not_logged(customer, client_for, manager):
    response = client_for(manager).post(reverse("customers:reveal", args=[customer.pk]), {"reason": "  "})

    assert response.status_code == 400
    assert "13812341234" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="reveal").exists()


@pytest.mark.parametrize("role", ["agent", "staff"])
def test_agents_and_staff_cannot_reveal(role, customer, client_for, request):
    user = request.getfixturevalue(role)

    response = client_for(user).post(reverse("customers:reveal", args=[customer.pk]), {"reason": "想看看"})

    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


def test_the_order_list_masks_the_receiver_for_agents(customer, client_for, agent):
    page = client_for(agent).get(reverse("customers:orders")).content.decode()

    assert "136****2222" in page
    assert "13611112222" not in page and "赵收件" not in page


def test_a_customer_known_only_by_the_real_name_is_listed_under_the_masked_name(client_for, agent):
    CustomerFactory(buyer_nick="", display_nick="", real_name="欧阳娜娜")

    page = client_for(agent).get(reverse("customers:list")).content.decode()

    assert "欧***" in page
    assert "欧阳娜娜" not in page


@pytest.mark.parametrize(("address", "masked"), [
    ("北京市 朝阳区 建国路88号 国贸大厦 1201", "北京市 朝阳区 ****"),
    ("浙江省 杭州市 余杭区 五常街道 8 号", "浙江省 杭州市 余杭区 ****"),
    ("北京 北京市 朝阳区 三里屯街道 1 号", "北京 北京市 朝阳区 ****"),
    ("文三路 100 号 3 幢 501", "****"),
    ("五常街道8号", "****"),
])
def test_an_address_shows_its_region_only_and_never_the_street(address, masked):
    from crm.pii import mask_address

    assert mask_address(address) == masked


def test_the_order_page_shows_the_receiver_region_but_not_the_street(client_for, agent):
    order = OrderFactory(receiver_address="北京市 朝阳区 建国路88号 国贸大厦 1201")

    page = client_for(agent).get(reverse("customers:order-detail", args=[order.pk])).content.decode()

    assert "北京市 朝阳区 ****" in page
    assert "建国路" not in page
