"""The customer list's total (exact, or the planner's estimate past 10,000), the confirmation of bulk actions with
their count, region prefixes with a picker, and the segmentation pages' numbers as links to their customers."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from customers import selectors
from customers.models import Customer, CustomerTag, Segment
from tests.customers.factories import CustomerFactory, CustomerScoreFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_the_list_loads_its_total_after_the_page(client_for, staff):
    CustomerFactory.create_batch(3, province="广东省", city="广州市")
    CustomerFactory(province="浙江省")
    client = client_for(staff)

    page = client.get(reverse("customers:list"), {"province": "广东"}).content.decode()
    total = client.get(reverse("customers:count"), {"province": "广东"}).content.decode()

    assert f'hx-get="{reverse("customers:count")}?province=%E5%B9%BF%E4%B8%9C"' in page
    assert 'data-count="3" data-exact="1"' in total and "3 位客户" in total


@pytest.mark.postgres
def test_past_ten_thousand_the_total_is_the_planners_estimate_marked_as_such(monkeypatch, client_for, staff):
    CustomerFactory.create_batch(12)
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 10)  # the same rule at a size a test can build

    count = selectors.customer_list_count(Customer.objects.active())
    shown = client_for(staff).get(reverse("customers:count")).content.decode()

    assert count.exact is False and count.value >= 11
    assert 'data-exact="0"' in shown and "约" in shown and "（估算）" in shown


def test_province_and_city_accept_a_prefix_and_offer_a_picker(client_for, staff):
    guangzhou = CustomerFactory(province="广东省", city="广州市")
    shenzhen = CustomerFactory(province="广东省", city="深圳市")
    CustomerFactory(province="广西壮族自治区", city="南宁市")
    client = client_for(staff)

    by_province = client.get(reverse("customers:list"), {"province": "广东"})
    by_city = client.get(reverse("customers:list"), {"city": "广州"})

    assert {c.pk for c in by_province.context["customers"]} == {guangzhou.pk, shenzhen.pk}
    assert [c.pk for c in by_city.context["customers"]] == [guangzhou.pk]
    page = by_province.content.decode()
    assert 'list="province-options"' in page and 'list="city-options"' in page
    options = re.search(r'<datalist id="province-options">(.*?)</datalist>', page).group(1)
    assert '<option value="广东省">' in options and '<option value="广西壮族自治区">' in options


def test_a_bulk_tag_shows_the_count_and_waits_for_confirmation(client_for, staff):
    tag = TagFactory(name="广东老客")
    CustomerFactory.create_batch(2, province="广东省")
    CustomerFactory(province="浙江省")
    client = client_for(staff)
    url = f"{reverse('customers:tag-bulk')}?province=广东"

    asked = client.post(url, {"tag": tag.pk, "action": "add"})
    nothing_yet = CustomerTag.objects.count()
    confirmed = client.post(url, {"tag": tag.pk, "action": "add", "confirm": "1"})

    assert asked.status_code == 200 and 'data-count="2"' in asked.content.decode()
    assert "广东老客" in asked.content.decode() and 'name="confirm" value="1"' in asked.content.decode()
    assert nothing_yet == 0
    assert confirmed.status_code == 302 and CustomerTag.objects.count() == 2


def test_the_list_filters_by_rfm_group_and_the_rfm_cards_link_there(client_for, staff):
    champion = CustomerFactory(total_paid=Decimal("900"))
    CustomerScoreFactory(customer=champion, rfm_group="important_value")
    CustomerScoreFactory(customer=CustomerFactory(), rfm_group="general_retain")
    client = client_for(staff)

    grid = client.get(reverse("customers:rfm")).content.decode()
    listed = client.get(reverse("customers:list"), {"rfm_group": "important_value"})

    assert f'href="{reverse("customers:list")}?rfm_group=important_value"' in grid
    assert [c.pk for c in listed.context["customers"]] == [champion.pk]


def test_the_rfm_pages_scored_total_links_to_every_scored_customer(client_for, staff):
    scored = [CustomerScoreFactory(customer=CustomerFactory(), rfm_group=g).customer_id
              for g in ("important_value", "general_retain")]
    CustomerScoreFactory(customer=CustomerFactory(), rfm_group="")  # no paid order: no group
    CustomerFactory()
    client = client_for(staff)

    grid = client.get(reverse("customers:rfm")).content.decode()
    listed = client.get(reverse("customers:list"), {"rfm_group": "scored"})

    assert f'href="{reverse("customers:list")}?rfm_group=scored"' in grid
    assert sorted(c.pk for c in listed.context["customers"]) == sorted(scored)


def test_the_segment_insight_numbers_link_to_the_members_behind_them(client_for, staff):
    segment = Segment.objects.create(name="浙江", definition={
        "op": "and", "conditions": [{"field": "province", "operator": "in", "value": ["浙江省"]}]})
    member = CustomerFactory(province="浙江省", gender="F")
    CustomerScoreFactory(customer=member, rfm_group="important_value", lifecycle_stage="active")
    CustomerFactory(province="上海", gender="F")
    client = client_for(staff)

    page = client.get(reverse("customers:segment-detail", args=[segment.pk])).content.decode()
    members = client.get(reverse("customers:list"), {"segment": segment.pk, "gender": "F"})

    base = f'{reverse("customers:list")}?segment={segment.pk}'
    assert f'href="{base}"' in page
    assert f'href="{base}&amp;rfm_group=important_value"' in page and f'href="{base}&amp;gender=F"' in page
    assert [c.pk for c in members.context["customers"]] == [member.pk]


def test_the_insight_bands_products_and_paying_members_link_to_their_customers(client_for, staff):
    from datetime import date

    from customers.models import CustomerProduct, Product

    segment = Segment.objects.create(name="全部", definition={"op": "and", "conditions": []})
    today = date.today()
    young = CustomerFactory(birthday=today.replace(year=today.year - 26), paid_order_count=2,
                            avg_order_value=Decimal("150"))
    CustomerFactory(birthday=today.replace(year=today.year - 45), paid_order_count=0)
    product = Product.objects.create(key="P1", title="洗发水")
    CustomerProduct.objects.create(customer=young, product=product)
    client = client_for(staff)

    page = client.get(reverse("customers:segment-detail", args=[segment.pk])).content.decode()
    listed = {
        band: [c.pk for c in client.get(reverse("customers:list"),
                                         {"segment": segment.pk, "insight": band}).context["customers"]]
        for band in ("age:25–29", "aov:100–200", f"product:{product.pk}", "paying:1")
    }

    base = f'{reverse("customers:list")}?segment={segment.pk}&amp;insight='
    assert f'{base}age%3A25%E2%80%9329"' in page and f'{base}product%3A{product.pk}"' in page
    assert f'{base}paying:1"' in page
    assert listed == {band: [young.pk] for band in listed}
