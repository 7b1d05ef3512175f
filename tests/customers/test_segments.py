"""Segment definitions: nested AND/OR compiled to one SQL query, validation, the registry, the API."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import CustomerTag, OrderLine, Product, Refund, Segment
from customers.segmentation.compiler import DefinitionError, validate_definition
from customers.segmentation.conditions import REGISTRY, field_condition, register_condition
from customers.segmentation.selectors import segment_members, segment_snapshot
from tests.customers.factories import CustomerFactory, OrderFactory, TagFactory, TierFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def cond(field, operator, value=None):
    return {"field": field, "operator": operator, "value": value}


@pytest.fixture
def shop():
    """Eight customers whose membership of the nested definition below is worked out by hand."""
    vip = TagFactory(name="VIP")
    gold = TierFactory(name="金卡", rank=3)
    people = {
        "zj_rich_recent": CustomerFactory(province="浙江省", total_paid=Decimal("1500"), paid_order_count=3,
                                          last_paid_at=NOW - timedelta(days=10)),
        "zj_rich_old": CustomerFactory(province="浙江省", total_paid=Decimal("1500"), paid_order_count=3,
                                       last_paid_at=NOW - timedelta(days=200)),
        "zj_poor_vip": CustomerFactory(province="浙江省", total_paid=Decimal("50"), paid_order_count=1,
                                       last_paid_at=NOW - timedelta(days=5)),
        "zj_poor_gold": CustomerFactory(province="浙江省", total_paid=Decimal("50"), paid_order_count=1,
                                        last_paid_at=NOW - timedelta(days=5), tier=gold),
        "sh_rich_recent": CustomerFactory(province="上海", total_paid=Decimal("5000"), paid_order_count=9,
                                          last_paid_at=NOW - timedelta(days=1)),
        "sh_vip_female": CustomerFactory(province="上海", gender="F", total_paid=Decimal("80"), paid_order_count=1,
                                         last_paid_at=NOW - timedelta(days=400)),
        "bj_nothing": CustomerFactory(province="北京", total_paid=Decimal("0"), paid_order_count=0),
        "zj_opted_out_rich": CustomerFactory(province="浙江省", total_paid=Decimal("3000"), paid_order_count=5,
                                             last_paid_at=NOW - timedelta(days=3), opted_out=True),
    }
    for name in ("zj_poor_vip", "sh_vip_female"):
        CustomerTag.objects.create(customer=people[name], tag=vip)
    return {"people": people, "vip": vip, "gold": gold}


def nested(shop) -> dict:
    # (浙江 AND NOT opted out AND ((spent ≥ 1000 AND paid within 90 days) OR tagged VIP OR tier 金卡))
    #   OR (上海 AND female)
    return {"op": "or", "conditions": [
        {"op": "and", "conditions": [
            cond("province", "in", ["浙江省"]),
            cond("opted_out", "is_false"),
            {"op": "or", "conditions": [
                {"op": "and", "conditions": [cond("total_paid", "gte", 1000), cond("last_paid_at", "within_days", 90)]},
                cond("tags", "has_any", [shop["vip"].pk]),
                cond("tier", "in", [shop["gold"].pk]),
            ]},
        ]},
        {"op": "and", "conditions": [cond("province", "in", ["上海"]), cond("gender", "in", ["F"])]},
    ]}


def test_a_nested_definition_selects_exactly_the_hand_computed_customers_in_one_query(shop):
    expected = {"zj_rich_recent", "zj_poor_vip", "zj_poor_gold", "sh_vip_female"}

    members = segment_members(nested(shop), now=NOW)  # validating looks the tag and tier up

    with CaptureQueriesContext(connection) as queries:
        ids = set(members.values_list("id", flat=True))

    assert ids == {shop["people"][name].pk for name in expected}
    assert len(queries) == 1


def test_the_sql_result_equals_the_same_rules_evaluated_in_python(shop):
    def in_python(c) -> bool:
        tagged = c.tags.filter(pk=shop["vip"].pk).exists()
        recent = c.last_paid_at is not None and c.last_paid_at >= NOW - timedelta(days=90)
        zj = c.province == "浙江省" and not c.opted_out and (
            (c.total_paid >= 1000 and recent) or tagged or c.tier_id == shop["gold"].pk)
        return zj or (c.province == "上海" and c.gender == "F")

    by_python = {c.pk for c in shop["people"].values() if in_python(c)}

    assert set(segment_members(nested(shop), now=NOW).values_list("id", flat=True)) == by_python


def test_an_empty_definition_selects_every_customer_not_merged_away(shop):
    merged = CustomerFactory(merged_into=shop["people"]["bj_nothing"])

    members = segment_members({"op": "and", "conditions": []})

    assert members.count() == 8
    assert not members.filter(pk=merged.pk).exists()


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"op": "and", "conditions": [cond("no_such_field", "eq", 1)]}, "conditions.0.field"),
        ({"op": "and", "conditions": [cond("total_paid", "contains", "x")]}, "conditions.0.operator"),
        ({"op": "and", "conditions": [cond("total_paid", "gte", "lots")]}, "conditions.0.value"),
        ({"op": "and", "conditions": [cond("total_paid", "between", [500, 100])]}, "conditions.0.value"),
        ({"op": "and", "conditions": [cond("last_paid_at", "after", "2026-13-45")]}, "conditions.0.value"),
        ({"op": "and", "conditions": [cond("tier", "in", [999999])]}, "conditions.0.value"),
        ({"op": "xor", "conditions": []}, "op"),
        ({"op": "and", "conditions": "province"}, "conditions"),
        ({"op": "and", "conditions": [{"op": "or", "conditions": [cond("age", "lte", "1.5")]}]},
         "conditions.0.conditions.0.value"),
    ],
)
def test_an_invalid_definition_is_rejected_with_the_path_of_the_problem(definition, path):
    with pytest.raises(DefinitionError) as raised:
        validate_definition(definition)

    assert path in [e["path"] for e in raised.value.errors]


def test_the_api_answers_400_with_the_problem_for_a_bad_field_or_operator(api_client, staff):
    api_client.force_authenticate(staff)
    conditions = [cond("total_paid", "likes", 3), cond("nope", "eq")]
    bad = {"name": "坏", "definition": {"op": "and", "conditions": conditions}}

    response = api_client.post("/api/segments/", bad, format="json")
    preview = api_client.post("/api/segments/preview/", {"definition": bad["definition"]}, format="json")

    assert response.status_code == 400
    assert preview.status_code == 400
    problems = {e["path"]: e["message"] for e in response.json()["definition"]}
    assert "likes" in problems["conditions.0.operator"]
    assert "nope" in problems["conditions.1.field"]
    assert not Segment.objects.exists()


def test_the_api_saves_a_segment_and_gives_its_count_members_and_insight(api_client, staff, shop):
    api_client.force_authenticate(staff)

    created = api_client.post("/api/segments/", {"name": "精选", "definition": nested(shop)}, format="json")
    pk = created.json()["id"]
    count = api_client.get(f"/api/segments/{pk}/count/")
    members = api_client.get(f"/api/segments/{pk}/members/?page_size=2")
    insight = api_client.get(f"/api/segments/{pk}/insight/")

    assert created.status_code == 201
    assert count.json() == {"count": 4}
    assert members.json()["count"] == 4
    assert len(members.json()["results"]) == 2
    assert "phone" not in members.json()["results"][0]
    assert insight.json()["members"] == 4
    assert {row["label"] for row in insight.json()["distributions"]["province"]} == {"浙江省", "上海"}


def test_an_agent_cannot_see_or_change_segments_through_the_api(api_client, agent):
    api_client.force_authenticate(agent)

    assert api_client.get("/api/segments/").status_code == 403
    assert api_client.post("/api/segments/preview/", {"definition": {"op": "and", "conditions": []}},
                           format="json").status_code == 403


def test_a_condition_registered_by_another_module_works_in_definitions_and_the_builder_catalog(api_client, staff):
    # Given a condition another app registers (here, in the test, as an app's ready() would)
    register_condition("test_wangwang", label="Has a Wangwang id", kind="bool", build=lambda op, value, ctx:
                       ~Q(wangwang="") if op == "is_true" else Q(wangwang=""))
    try:
        with_id = CustomerFactory(wangwang="ww_1")
        CustomerFactory(wangwang="")
        api_client.force_authenticate(staff)

        fields = {f["key"] for f in api_client.get("/api/segments/fields/").json()}
        members = segment_members({"op": "and", "conditions": [cond("test_wangwang", "is_true")]})

        assert "test_wangwang" in fields
        assert list(members.values_list("id", flat=True)) == [with_id.pk]
    finally:
        REGISTRY.pop("test_wangwang")


def test_the_note_condition_is_registered_from_the_app_config():
    from customers.models import CustomerNote

    noted = CustomerFactory()
    CustomerNote.objects.create(customer=noted, body="回访")
    CustomerFactory()

    members = segment_members({"op": "and", "conditions": [cond("note_written", "within_days", 7)]})

    assert "note_written" in REGISTRY
    assert list(members.values_list("id", flat=True)) == [noted.pk]


def test_purchased_product_refund_count_and_age_conditions():
    product = Product.objects.create(key="SKU-1", merchant_code="SKU-1", title="面霜")
    buyer = CustomerFactory(birthday=timezone.localdate().replace(year=timezone.localdate().year - 30))
    order = OrderFactory(customer=buyer)
    OrderLine.objects.create(line_key="1", order_no=order.order_no, order=order, product=product, title="面霜",
                             merchant_code="SKU-1")
    Refund.objects.create(refund_no="R1", order_no=order.order_no, order=order, customer=buyer)
    Refund.objects.create(refund_no="R2", order_no=order.order_no, order=order, customer=buyer)
    CustomerFactory(birthday=None)

    def ids(*conditions):
        return list(segment_members({"op": "and", "conditions": list(conditions)}).values_list("id", flat=True))

    assert ids(cond("purchased_product", "in", [product.pk])) == [buyer.pk]
    assert ids(cond("purchased_code", "eq", "SKU-1")) == [buyer.pk]
    assert ids(cond("purchased_title", "contains", "面")) == [buyer.pk]
    assert ids(cond("refund_count", "gte", 2)) == [buyer.pk]
    assert ids(cond("refund_count", "gte", 3)) == []
    assert ids(cond("age", "between", [30, 30])) == [buyer.pk]
    assert ids(cond("age", "lte", 29)) == []


def test_a_snapshot_freezes_the_members_of_the_moment(shop):
    definition = {"op": "and", "conditions": [cond("province", "in", ["上海"])]}

    snapshot = segment_snapshot(definition)
    CustomerFactory(province="上海")

    assert len(snapshot) == 2
    assert segment_members(definition).count() == 3


def test_field_condition_builds_plain_lookups():
    assert field_condition("total_paid")("between", (1, 2), None) == Q(total_paid__gte=1, total_paid__lte=2)
