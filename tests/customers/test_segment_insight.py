"""Segment insight's top products and the products-bought table the segmentation refresh keeps for it."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import CustomerProduct, Product
from customers.segmentation.insight import segment_insight, top_products
from customers.segmentation.purchases import customer_products_refresh
from customers.segmentation.selectors import segment_members
from customers.segmentation.services import segmentation_refresh
from tests.customers.factories import CustomerFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db
ZJ = {"op": "and", "conditions": [{"field": "province", "operator": "in", "value": ["浙江省"]}]}


def product(title: str) -> Product:
    return Product.objects.create(key=title, title=title)


def bought(customer, *products, paid=True):
    unpaid = {"status": "unpaid", "paid_at": None, "paid_amount": None}
    order = OrderFactory(customer=customer, **({} if paid else unpaid))
    for p in products:
        OrderLineFactory(order=order, product=p)
    return order


def pairs() -> set[tuple[int, int]]:
    return set(CustomerProduct.objects.values_list("customer_id", "product_id"))


@pytest.fixture
def shop():
    scarf, tea, cup = product("围巾"), product("茶叶"), product("杯子")
    a, b, c = (CustomerFactory(province="浙江省") for _ in range(3))
    elsewhere = CustomerFactory(province="上海")
    bought(a, scarf, tea)
    bought(a, scarf)  # twice: still one buyer
    bought(b, scarf)
    bought(c, cup, paid=False)  # unpaid: not bought
    bought(elsewhere, tea, tea, cup)  # not a member
    return {"scarf": scarf, "tea": tea, "cup": cup, "a": a, "b": b, "c": c, "elsewhere": elsewhere}


def test_the_refresh_records_each_paid_customer_product_pair_once(shop):
    customer_products_refresh()

    assert pairs() == {(shop["a"].pk, shop["scarf"].pk), (shop["a"].pk, shop["tea"].pk),
                       (shop["b"].pk, shop["scarf"].pk), (shop["elsewhere"].pk, shop["tea"].pk),
                       (shop["elsewhere"].pk, shop["cup"].pk)}
    assert customer_products_refresh() == 0  # nothing changed: nothing written


def test_a_full_refresh_removes_pairs_whose_orders_are_gone(shop):
    customer_products_refresh()
    shop["b"].orders.all().delete()

    changed = customer_products_refresh()

    assert changed == 1
    assert (shop["b"].pk, shop["scarf"].pk) not in pairs()


def test_refreshing_some_customers_touches_only_theirs(shop):
    customer_products_refresh()
    order = shop["b"].orders.get()
    order.customer = shop["c"]  # e.g. a merge moved it
    order.save(update_fields=["customer"])
    CustomerProduct.objects.filter(customer=shop["a"]).delete()  # stale on purpose: must stay untouched

    segmentation_refresh(customer_ids=[shop["b"].pk, shop["c"].pk])

    assert (shop["c"].pk, shop["scarf"].pk) in pairs()
    assert (shop["b"].pk, shop["scarf"].pk) not in pairs()
    assert not CustomerProduct.objects.filter(customer=shop["a"]).exists()


def test_top_products_count_each_member_once_per_product(shop):
    customer_products_refresh()

    insight = segment_insight(segment_members(ZJ))

    assert [(row["label"], row["count"]) for row in insight["top_products"]] == [("围巾", 2), ("茶叶", 1)]
    assert top_products(segment_members(ZJ)) == insight["top_products"]


def test_insight_takes_a_fixed_number_of_queries_whatever_the_members(shop):
    customer_products_refresh()
    with CaptureQueriesContext(connection) as few:
        segment_insight(segment_members(ZJ))
    for _ in range(5):
        bought(CustomerFactory(province="浙江省"), shop["tea"], shop["cup"])
    customer_products_refresh()

    with CaptureQueriesContext(connection) as more:
        insight = segment_insight(segment_members(ZJ))

    assert len(more) == len(few)
    assert insight["members"] == 8
    assert insight["total_paid"] == sum(
        (c.total_paid for c in segment_members(ZJ)), Decimal("0"))


def test_deleting_a_customer_or_a_product_deletes_their_products_bought_rows(shop):
    customer_products_refresh()

    shop["a"].delete()
    shop["cup"].delete()

    assert pairs() == {(shop["b"].pk, shop["scarf"].pk), (shop["elsewhere"].pk, shop["tea"].pk)}
