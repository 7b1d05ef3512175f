"""Tags by hand and by auto-tag rules."""

from decimal import Decimal

import pytest

from customers.models import AutoTagRule, Customer, CustomerTag, OrderLine
from customers.segmentation.tags import autotag_apply, tag_add, tag_remove
from tests.customers.factories import CustomerFactory, OrderFactory, TagFactory

pytestmark = pytest.mark.django_db


def tagged(tag) -> set[int]:
    return set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True))


def test_tagging_a_queryset_by_hand_tags_each_customer_once():
    tag = TagFactory()
    customers = [CustomerFactory() for _ in range(3)]

    first = tag_add(customers=Customer.objects.all(), tag=tag)
    second = tag_add(customers=Customer.objects.all(), tag=tag)

    assert (first, second) == (3, 0)
    assert tagged(tag) == {c.pk for c in customers}


def test_an_auto_tag_rule_tags_big_spenders_and_untags_them_when_they_no_longer_match():
    tag = TagFactory(name="大客户")
    AutoTagRule.objects.create(name="消费满1000", tag=tag, definition={"op": "and", "conditions": [
        {"field": "total_paid", "operator": "gte", "value": 1000}]})
    big = CustomerFactory(total_paid=Decimal("1500"))
    CustomerFactory(total_paid=Decimal("10"))

    autotag_apply()
    assert tagged(tag) == {big.pk}

    Customer.objects.filter(pk=big.pk).update(total_paid=Decimal("500"))  # a refund
    autotag_apply(customer_ids=[big.pk])
    assert tagged(tag) == set()


def test_a_tag_given_by_hand_is_not_removed_by_a_rule():
    tag = TagFactory(name="大客户")
    AutoTagRule.objects.create(name="消费满1000", tag=tag, definition={"op": "and", "conditions": [
        {"field": "total_paid", "operator": "gte", "value": 1000}]})
    by_hand = CustomerFactory(total_paid=Decimal("5"))
    tag_add(customers=by_hand, tag=tag)

    autotag_apply()

    assert tagged(tag) == {by_hand.pk}


def test_an_auto_tag_rule_by_merchant_code_tags_the_buyers_of_that_product():
    tag = TagFactory(name="面霜客")
    AutoTagRule.objects.create(name="买过面霜", tag=tag, definition={"op": "and", "conditions": [
        {"field": "purchased_code", "operator": "eq", "value": "MS-01"}]})
    buyer = CustomerFactory()
    order = OrderFactory(customer=buyer)
    OrderLine.objects.create(line_key="L1", order_no=order.order_no, order=order, merchant_code="MS-01", title="面霜")
    CustomerFactory()

    autotag_apply()

    assert tagged(tag) == {buyer.pk}


def test_removing_a_tag_from_one_customer_leaves_the_others():
    tag = TagFactory()
    one, other = CustomerFactory(), CustomerFactory()
    tag_add(customers=Customer.objects.all(), tag=tag)

    tag_remove(customers=one, tag=tag)

    assert tagged(tag) == {other.pk}


def test_the_api_assigns_and_unassigns_tags(api_client, staff):
    tag = TagFactory()
    customer = CustomerFactory()
    api_client.force_authenticate(staff)

    added = api_client.post(f"/api/tags/{tag.pk}/assign/", {"customer_ids": [customer.pk]}, format="json")
    assert tagged(tag) == {customer.pk}
    removed = api_client.post(f"/api/tags/{tag.pk}/unassign/", {"customer_ids": [customer.pk]}, format="json")

    assert (added.json(), removed.json()) == ({"added": 1}, {"removed": 1})
    assert tagged(tag) == set()


def test_an_auto_tag_rule_with_a_bad_definition_is_a_400(api_client, staff):
    tag = TagFactory()
    api_client.force_authenticate(staff)

    response = api_client.post("/api/autotag-rules/", {"name": "x", "tag": tag.pk, "definition": {
        "op": "and", "conditions": [{"field": "total_paid", "operator": "near", "value": 1}]}}, format="json")

    assert response.status_code == 400
    assert not AutoTagRule.objects.exists()
