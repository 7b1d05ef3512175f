"""Editing one customer in two tabs (issue 18, item 17): each save writes only what its editor changed, and a
field both changed is reported, not silently overwritten."""

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def open_form(client, customer) -> dict:
    """The edit form as a browser tab holds it: every field with the value it was rendered with."""
    response = client.get(reverse("customers:edit", args=[customer.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    return {name: "" if form[name].value() is None else str(form[name].value()) for name in form.fields}


def save(client, customer, data):
    return client.post(reverse("customers:edit", args=[customer.pk]), data)


def test_two_tabs_editing_different_fields_both_keep_their_edits(client_for, staff):
    customer = CustomerFactory(city="杭州市", display_nick="小王")
    client = client_for(staff)
    tab_a, tab_b = open_form(client, customer), open_form(client, customer)

    first = save(client, customer, {**tab_a, "city": "宁波市"})
    second = save(client, customer, {**tab_b, "display_nick": "王先生"})

    customer.refresh_from_db()
    assert (first.status_code, second.status_code) == (302, 302)
    assert (customer.city, customer.display_nick) == ("宁波市", "王先生")


def test_two_tabs_changing_the_same_field_report_the_clash_and_keep_the_first_value(client_for, staff):
    customer = CustomerFactory(city="杭州市")
    client = client_for(staff)
    tab_a, tab_b = open_form(client, customer), open_form(client, customer)

    save(client, customer, {**tab_a, "city": "宁波市"})
    clash = save(client, customer, {**tab_b, "city": "温州市"})

    customer.refresh_from_db()
    assert clash.status_code == 409
    assert "宁波市" in str(clash.context["form"].errors["city"])
    assert customer.city == "宁波市"


def test_saving_again_after_a_clash_replaces_the_other_value_on_purpose(client_for, staff):
    customer = CustomerFactory(city="杭州市")
    client = client_for(staff)
    tab_a, tab_b = open_form(client, customer), open_form(client, customer)
    save(client, customer, {**tab_a, "city": "宁波市"})
    clash = save(client, customer, {**tab_b, "city": "温州市"})

    again = save(client, customer, {**tab_b, "city": "温州市", "base": clash.context["form"]["base"].value()})

    customer.refresh_from_db()
    assert again.status_code == 302
    assert customer.city == "温州市"


def test_a_phone_typed_in_both_tabs_is_a_clash_too(client_for, staff):
    customer = CustomerFactory(phone="13900000001")
    client = client_for(staff)
    tab_a, tab_b = open_form(client, customer), open_form(client, customer)

    save(client, customer, {**tab_a, "phone": "13900000002"})
    clash = save(client, customer, {**tab_b, "phone": "13900000003"})

    customer.refresh_from_db()
    assert clash.status_code == 409
    assert customer.phone == "13900000002"
    assert "13900000001" not in clash.content.decode()  # the form never carries a contact value
