"""The segmentation pages: builder, live count, insight, export, RFM grid, tiers, tags, points, settings."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from customers.models import CustomerTag, PointsEntry, Segment, SegmentationSettings, TimelineEvent
from tests.customers.factories import CustomerFactory, CustomerScoreFactory, TagFactory, TierFactory

pytestmark = pytest.mark.django_db


def definition(*conditions, op="and"):
    return json.dumps({"op": op, "conditions": list(conditions)})


def test_the_live_count_answers_with_the_number_of_matching_customers(client_for, staff):
    CustomerFactory(province="浙江省")
    CustomerFactory(province="上海")
    client = client_for(staff)

    response = client.post(reverse("customers:segment-count"),
                           {"definition": definition({"field": "province", "operator": "in", "value": ["上海"]})})

    assert response.status_code == 200
    assert 'data-count="1"' in response.content.decode()


def test_the_live_count_shows_the_problem_of_a_bad_definition_instead_of_failing(client_for, staff):
    client = client_for(staff)

    response = client.post(reverse("customers:segment-count"),
                           {"definition": definition({"field": "total_paid", "operator": "gte", "value": "x"})})

    assert response.status_code == 200
    assert "data-count-error" in response.content.decode()


def test_saving_a_segment_with_a_bad_field_shows_a_form_error_not_a_server_error(client_for, staff):
    client = client_for(staff)

    response = client.post(reverse("customers:segment-create"), {
        "name": "坏", "definition": definition({"field": "shoe_size", "operator": "eq", "value": 42})})

    assert response.status_code == 400
    assert "shoe_size" in response.content.decode()
    assert not Segment.objects.exists()


def test_a_saved_segment_shows_its_insight_with_charts_and_numbers(client_for, staff):
    CustomerFactory(province="浙江省", total_paid=Decimal("300"), paid_order_count=2)
    client = client_for(staff)
    created = client.post(reverse("customers:segment-create"), {
        "name": "浙江", "definition": definition({"field": "province", "operator": "in", "value": ["浙江省"]})})
    segment = Segment.objects.get()

    page = client.get(reverse("customers:segment-detail", args=[segment.pk]))

    assert created.status_code == 302
    assert page.status_code == 200
    body = page.content.decode()
    assert "echarts.min.js" in body
    assert 'data-figure="members">1<' in body
    assert "100.0%" in body  # repurchase rate: the one paying member bought twice


def test_only_a_manager_exports_members_and_the_export_is_logged_and_neutralised(client_for, manager, staff):
    CustomerFactory(province="浙江省", buyer_nick="=HYPERLINK(\"x\")")
    segment = Segment.objects.create(name="浙江", definition={"op": "and", "conditions": []})
    url = reverse("customers:segment-export", args=[segment.pk])

    refused = client_for(staff).get(url).status_code
    response = client_for(manager).get(url)

    assert refused == 403
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    assert AuditEvent.objects.filter(object_type="segment", object_id=str(segment.pk)).exists()


def test_the_rfm_grid_shows_the_eight_groups_with_counts(client_for, staff):
    CustomerScoreFactory(rfm_group="important_value", rfm_r=5, rfm_f=5, rfm_m=5,
                         customer__total_paid=Decimal("900"))

    page = client_for(staff).get(reverse("customers:rfm"))

    body = page.content.decode()
    assert body.count("data-group=") == 8
    assert "¥900.00" in body


def test_bulk_tagging_tags_exactly_the_filtered_list(client_for, staff):
    tag = TagFactory(name="浙江老客")
    zhejiang = CustomerFactory(province="浙江省")
    CustomerFactory(province="上海")

    response = client_for(staff).post(f"{reverse('customers:tag-bulk')}?province=浙江省",
                                      {"tag": tag.pk, "action": "add", "confirm": "1"})

    assert response.status_code == 302
    assert list(CustomerTag.objects.values_list("customer_id", flat=True)) == [zhejiang.pk]


def test_bulk_untagging_removes_the_tag_from_the_filtered_list_only(client_for, staff):
    tag = TagFactory(name="待删")
    zhejiang = CustomerFactory(province="浙江省")
    shanghai = CustomerFactory(province="上海")
    for customer in (zhejiang, shanghai):
        CustomerTag.objects.create(customer=customer, tag=tag)

    client_for(staff).post(f"{reverse('customers:tag-bulk')}?province=浙江省",
                           {"tag": tag.pk, "action": "remove", "confirm": "1"})

    assert list(CustomerTag.objects.values_list("customer_id", flat=True)) == [shanghai.pk]


def test_an_agent_cannot_tag_customers(client_for, agent):
    tag = TagFactory()
    customer = CustomerFactory()

    response = client_for(agent).post(reverse("customers:customer-tag", args=[customer.pk]),
                                      {"tag": tag.pk, "action": "add", "confirm": "1"})

    assert response.status_code == 403
    assert not CustomerTag.objects.exists()


def test_a_hand_tier_change_needs_a_reason_and_lands_on_the_timeline(client_for, staff):
    gold = TierFactory(name="金卡", rank=2)
    customer = CustomerFactory()
    client = client_for(staff)
    url = reverse("customers:customer-tier", args=[customer.pk])

    without_reason = client.post(url, {"tier": gold.pk, "reason": ""})
    with_reason = client.post(url, {"tier": gold.pk, "reason": "老客户补偿"})

    customer.refresh_from_db()
    assert without_reason.status_code == 400
    assert with_reason.status_code == 302
    assert customer.tier == gold
    assert TimelineEvent.objects.get(customer=customer, kind="tier_changed").data["reason"] == "老客户补偿"


def test_points_are_adjusted_by_hand_with_a_reason_on_the_points_page(client_for, staff):
    customer = CustomerFactory()
    client = client_for(staff)

    client.post(reverse("customers:points", args=[customer.pk]), {"kind": "adjust", "points": 50, "reason": "补偿"})
    page = client.get(reverse("customers:points", args=[customer.pk]))

    customer.refresh_from_db()
    assert customer.points_balance == 50
    assert PointsEntry.objects.get().reason == "补偿"
    assert 'id="points-balance">50<' in page.content.decode()


def test_the_settings_page_saves_thresholds_and_rejects_churned_before_dormant(client_for, staff):
    client = client_for(staff)
    url = reverse("customers:segmentation-settings")
    base = {"rfm_mode": "thresholds", "rfm_r_days": "30,60,90,180", "rfm_f_orders": "", "rfm_m_amounts": "",
            "new_days": 30, "dormant_days": 90, "churned_days": 60, "tier_basis": "amount", "tier_window_days": "",
            "points_per_yuan": "1", "points_expiry": "never", "points_expiry_months": 12}

    refused = client.post(url, base)
    saved = client.post(url, {**base, "churned_days": 200})

    assert refused.status_code == 400
    assert saved.status_code == 302
    shop = SegmentationSettings.load()
    assert (shop.rfm_mode, shop.rfm_r_days, shop.churned_days) == ("thresholds", [30, 60, 90, 180], 200)


@pytest.mark.parametrize("name", ["customers:segments", "customers:segment-create", "customers:rfm", "customers:tiers",
                                  "customers:tier-create", "customers:tags", "customers:autotag-create",
                                  "customers:segmentation-settings"])
def test_each_page_renders_for_shop_staff(client_for, staff, name):
    Segment.objects.create(name="全部", definition={"op": "and", "conditions": []})
    TierFactory()

    response = client_for(staff).get(reverse(name))

    assert response.status_code == 200


def test_the_customer_list_offers_bulk_tagging_with_the_current_filter(client_for, staff):
    TagFactory(name="高潜")

    page = client_for(staff).get(reverse("customers:list") + "?province=浙江省")

    body = page.content.decode()
    assert 'id="bulk-tag-form"' in body
    assert "tags/bulk/?province=" in body
