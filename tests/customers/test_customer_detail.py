"""The customer page: every section, notes, editing."""

import pytest
from django.urls import reverse

from customers.models import CustomerNote, CustomerTag, TimelineEvent
from tests.customers.factories import (
    CustomerAddressFactory,
    CustomerFactory,
    CustomerNoteFactory,
    OrderFactory,
    OrderLineFactory,
    RefundFactory,
    TagFactory,
    TimelineEventFactory,
)

pytestmark = pytest.mark.django_db


def test_the_customer_page_shows_profile_addresses_orders_with_lines_refunds_timeline_and_notes(client_for, agent):
    customer = CustomerFactory(buyer_nick="tb_rose", display_nick="玫瑰")
    CustomerAddressFactory(customer=customer, city="宁波市")
    order = OrderFactory(customer=customer, order_no="2596105164972071964")
    OrderLineFactory(order=order, title="真丝围巾 藏青")
    RefundFactory(order=order, refund_no="R-777", reason="尺码不合适")
    TimelineEventFactory(customer=customer, kind="order_imported", summary="订单 2596105164972071964")
    CustomerNoteFactory(customer=customer, body="喜欢藏青色")

    response = client_for(agent).get(reverse("customers:detail", args=[customer.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    for text in ("tb_rose", "玫瑰", "宁波市", "2596105164972071964", "真丝围巾 藏青", "R-777", "尺码不合适",
                 "喜欢藏青色", 'id="timeline"'):
        assert text in page
    assert str(response.context["detail"].timeline[0].label) != "order_imported"  # labelled, not the raw kind


def test_the_customer_page_runs_the_same_number_of_queries_however_many_orders(
    client_for, agent, django_assert_max_num_queries
):
    customer = CustomerFactory()
    for _ in range(20):
        OrderLineFactory(order=OrderFactory(customer=customer))
    client = client_for(agent)

    with django_assert_max_num_queries(20):
        response = client.get(reverse("customers:detail", args=[customer.pk]))

    assert len(response.context["detail"].orders) == 20


def test_an_agent_adds_a_note_and_it_lands_on_the_timeline(client_for, agent):
    customer = CustomerFactory()

    response = client_for(agent).post(reverse("customers:note-add", args=[customer.pk]), {"body": "客户要求周末送达"})

    assert response.status_code == 302
    assert CustomerNote.objects.get(customer=customer).author == agent
    assert TimelineEvent.objects.filter(customer=customer, kind="note_added").count() == 1


def test_an_empty_note_is_refused_with_the_form_error(client_for, agent):
    customer = CustomerFactory()

    response = client_for(agent).post(reverse("customers:note-add", args=[customer.pk]), {"body": "   "})

    assert response.status_code == 400
    assert response.context["note_form"].errors
    assert not CustomerNote.objects.exists()


def test_staff_edit_a_profile_and_the_timeline_records_which_fields_changed(client_for, staff):
    customer = CustomerFactory(display_nick="旧昵称", phone="13812341234", phone_tail="1234")
    url = reverse("customers:edit", args=[customer.pk])
    form = client_for(staff).get(url).context["form"]
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields}

    response = client_for(staff).post(url, {**data, "display_nick": "新昵称", "phone": "13900005678"})

    customer.refresh_from_db()
    assert response.status_code == 302
    assert (customer.display_nick, customer.phone, customer.phone_tail) == ("新昵称", "13900005678", "5678")
    event = TimelineEvent.objects.get(customer=customer, kind="customer_edited")
    assert event.data == {"fields": ["display_nick", "phone"]}
    assert "13900005678" not in event.summary


def test_the_edit_form_never_shows_the_stored_phone_and_a_blank_contact_field_keeps_it(client_for, manager):
    customer = CustomerFactory(phone="13812341234", phone_tail="1234", real_name="王玫瑰")
    url = reverse("customers:edit", args=[customer.pk])

    page = client_for(manager).get(url).content.decode()
    client_for(manager).post(url, {"display_nick": "x", "phone": "", "real_name": "", "gender": ""})

    customer.refresh_from_db()
    assert "13812341234" not in page and "王玫瑰" not in page
    assert "138****1234" in page
    assert (customer.phone, customer.real_name, customer.display_nick) == ("13812341234", "王玫瑰", "x")


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "call me"), ("birthday", "2999-01-01"), ("lunar_birthday_month", "13"), ("email", "not-an-email"),
     ("gender", "X")],
)
def test_the_edit_form_refuses_invalid_values_with_a_field_error(field, value, client_for, staff):
    customer = CustomerFactory(display_nick="原样")

    url = reverse("customers:edit", args=[customer.pk])

    response = client_for(staff).post(url, {"display_nick": "改了", field: value})

    customer.refresh_from_db()
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert customer.display_nick == "原样"


def test_an_agent_cannot_edit_a_customer(client_for, agent):
    customer = CustomerFactory()

    response = client_for(agent).post(reverse("customers:edit", args=[customer.pk]), {"display_nick": "x"})

    assert response.status_code == 403


def test_an_order_page_shows_its_lines_with_the_receiver_masked(client_for, agent):
    order = OrderFactory(receiver_name="王小丫", receiver_phone="13712345678",
                         receiver_address="浙江省 杭州市 西湖区 文三路 100 号 3 幢")
    OrderLineFactory(order=order, title="羊绒披肩")

    page = client_for(agent).get(reverse("customers:order-detail", args=[order.pk])).content.decode()

    assert "羊绒披肩" in page
    assert "137****5678" in page and "13712345678" not in page
    assert "文三路" not in page and "王小丫" not in page


def test_staff_add_and_remove_a_tag_from_the_customer_page(client_for, staff):
    customer, tag = CustomerFactory(), TagFactory(name="复购")
    client = client_for(staff)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="add-tag"' in page and "复购" in page

    client.post(f"/customers/{customer.pk}/tags/", {"tag": tag.pk, "action": "add"})
    assert CustomerTag.objects.filter(customer=customer, tag=tag).exists()

    client.post(f"/customers/{customer.pk}/tags/", {"tag": tag.pk, "action": "remove"})
    assert not CustomerTag.objects.filter(customer=customer, tag=tag).exists()


def test_an_agent_sees_tags_but_no_tag_form(client_for, agent):
    customer = CustomerFactory()
    TagFactory(name="复购")

    page = client_for(agent).get(f"/customers/{customer.pk}/").content.decode()

    assert 'id="add-tag"' not in page
