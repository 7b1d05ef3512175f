"""Merging without knowing an internal id: search for the other customer and pick it; the customer page suggests
likely duplicates (the same phone, or the same masked name in the same city)."""

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def target():
    return CustomerFactory(buyer_nick="tb_rose", real_name="王玫瑰", phone="13812341234", phone_tail="1234",
                           province="浙江省", city="杭州市")


def test_the_picker_finds_customers_by_name_part_and_links_each_to_its_preview(target, client_for, manager):
    twin = CustomerFactory(buyer_nick="rose_2019", phone="13900000001", phone_tail="0001")
    CustomerFactory(buyer_nick="someone_else")

    response = client_for(manager).get(reverse("customers:merge-candidates", args=[target.pk]), {"q": "rose"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "rose_2019" in page and "someone_else" not in page
    assert "tb_rose" not in page  # never the customer being merged into
    assert f"{reverse('customers:merge', args=[target.pk])}?other=%23{twin.pk}" in page
    assert "13900000001" not in page  # contact details stay masked


def test_the_picker_link_opens_the_preview_of_that_customer(target, client_for, manager):
    twin = CustomerFactory(buyer_nick="rose_2019")

    response = client_for(manager).get(reverse("customers:merge", args=[target.pk]), {"other": f"#{twin.pk}"})

    assert response.context["source"] == twin


def test_the_picker_is_for_those_who_may_merge(target, client_for, agent):
    response = client_for(agent).get(reverse("customers:merge-candidates", args=[target.pk]), {"q": "rose"})

    assert response.status_code == 403


def test_the_customer_page_suggests_same_phone_and_same_masked_name_in_the_city(target, client_for, manager):
    same_phone = CustomerFactory(buyer_nick="phone_twin", phone="13812341234", phone_tail="1234",
                                 province="上海", city="上海市")
    same_name = CustomerFactory(buyer_nick="name_twin", real_name="王**", province="浙江省", city="杭州市")
    CustomerFactory(buyer_nick="other_city", real_name="王**", province="江苏省", city="南京市")
    CustomerFactory(buyer_nick="other_name", real_name="李**", province="浙江省", city="杭州市")

    page = client_for(manager).get(reverse("customers:detail", args=[target.pk])).content.decode()

    duplicates = page.split('id="likely-duplicates"')[1].split("</div>")[0]
    assert "phone_twin" in duplicates and "name_twin" in duplicates
    assert "other_city" not in duplicates and "other_name" not in duplicates
    assert f"?other=%23{same_phone.pk}" in duplicates and f"?other=%23{same_name.pk}" in duplicates


def test_the_customer_page_no_longer_asks_for_an_internal_id(target, client_for, manager):
    page = client_for(manager).get(reverse("customers:detail", args=[target.pk])).content.decode()

    assert 'id="merge-search"' in page and 'name="other"' not in page
