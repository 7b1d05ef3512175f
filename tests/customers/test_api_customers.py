"""The customers and orders REST API: list, filter, detail, update, reveal, and who may do what."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import AuditEvent
from customers.models import TimelineEvent
from tests.customers.factories import CustomerFactory, OrderFactory, OrderLineFactory, RefundFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_the_customer_list_filters_searches_and_masks(api, agent):
    CustomerFactory(buyer_nick="alice", phone="13812341234", phone_tail="1234", city="宁波市", real_name="王玫瑰")
    CustomerFactory(buyer_nick="bob", city="杭州市")

    response = api(agent).get("/api/customers/", {"q": "1234", "city": "宁波市"})

    body = response.json()
    assert response.status_code == 200
    assert [c["buyer_nick"] for c in body["results"]] == ["alice"]
    assert body["results"][0]["phone"] == "138****1234"
    assert body["results"][0]["real_name"] == "王**"
    assert "count" not in body and body["next"] is None


def test_the_customer_list_pages_without_counting(api, staff):
    CustomerFactory.create_batch(3)

    with CaptureQueriesContext(connection) as captured:
        first = api(staff).get("/api/customers/", {"page_size": 2}).json()
    second = api(staff).get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert second["next"] is None and second["previous"]
    assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]


def test_the_customer_list_sorts_and_filters_by_spend_and_tags(api, staff):
    tag = TagFactory()
    small = CustomerFactory(buyer_nick="small", total_paid=Decimal("10"))
    big = CustomerFactory(buyer_nick="big", total_paid=Decimal("900"))
    CustomerFactory(buyer_nick="untagged", total_paid=Decimal("5000"))
    for customer in (small, big):
        customer.tags.add(tag)

    response = api(staff).get("/api/customers/", {"tags": tag.pk, "sort": "-total_paid", "spend_min": "1"})

    assert [c["buyer_nick"] for c in response.json()["results"]] == ["big", "small"]


@pytest.mark.parametrize("params", [{"spend_min": "lots"}, {"paid_after": "yesterday"}, {"sort": "price"},
                                    {"tier": "999999"}])
def test_an_invalid_filter_is_a_400_with_the_field_error(params, api, agent):
    response = api(agent).get("/api/customers/", params)

    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_the_customer_detail_masks_contact_details_even_for_a_manager(api, manager):
    customer = CustomerFactory(phone="13812341234", phone_tail="1234", address="文三路 100 号")

    body = api(manager).get(f"/api/customers/{customer.pk}/").json()

    assert body["phone"] == "138****1234"
    assert body["address"] == "****"


def test_staff_patch_a_customer_and_the_change_is_on_the_timeline(api, staff):
    customer = CustomerFactory()

    response = api(staff).patch(f"/api/customers/{customer.pk}/", {"display_nick": "新昵称", "gender": "F"},
                                format="json")

    customer.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["display_nick"] == "新昵称"
    assert (customer.display_nick, customer.gender) == ("新昵称", "F")
    assert TimelineEvent.objects.get(customer=customer, kind="customer_edited").actor == staff


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"birthday": "2999-01-01"}, "birthday"),
        ({"birthday": "not a date"}, "birthday"),
        ({"email": "nope"}, "email"),
        ({"lunar_birthday_month": 7}, "lunar_birthday_day"),
        ({"order_count": 99}, "order_count"),
        ({"display_nick": "x" * 101}, "display_nick"),
    ],
)
def test_an_invalid_patch_is_a_400_with_field_errors_and_changes_nothing(payload, field, api, staff):
    customer = CustomerFactory(display_nick="原样")

    response = api(staff).patch(f"/api/customers/{customer.pk}/", payload, format="json")

    customer.refresh_from_db()
    assert response.status_code == 400
    assert field in response.json()
    assert customer.display_nick == "原样" and customer.order_count == 0


def test_a_patch_with_a_body_that_is_not_an_object_is_a_400(api, staff):
    customer = CustomerFactory()

    response = api(staff).patch(f"/api/customers/{customer.pk}/", ["phone"], format="json")

    assert response.status_code == 400


def test_a_manager_reveals_contact_details_with_a_reason_and_it_is_logged(api, manager):
    customer = CustomerFactory(phone="13812341234", phone_tail="1234", real_name="王玫瑰")

    response = api(manager).post(f"/api/customers/{customer.pk}/reveal/", {"reason": "客户来电"}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == "13812341234" and response.json()["real_name"] == "王玫瑰"
    assert AuditEvent.objects.get(action="reveal").reason == "客户来电"
    assert TimelineEvent.objects.filter(customer=customer, kind="contact_revealed").exists()


def test_a_reveal_without_a_reason_is_a_400(api, manager):
    customer = CustomerFactory()

    response = api(manager).post(f"/api/customers/{customer.pk}/reveal/", {}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()
    assert not AuditEvent.objects.exists()


def test_merged_away_customers_are_not_listed_but_their_detail_says_where_they_went(api, agent):
    kept = CustomerFactory(buyer_nick="kept")
    gone = CustomerFactory(buyer_nick="gone", merged_into=kept)

    listed = api(agent).get("/api/customers/").json()["results"]
    detail = api(agent).get(f"/api/customers/{gone.pk}/").json()

    assert [c["buyer_nick"] for c in listed] == ["kept"]
    assert detail["merged_into"] == kept.pk


# --- Orders ---------------------------------------------------------------------------------------


def test_the_order_list_filters_by_customer_status_and_order_number(api, agent):
    customer = CustomerFactory()
    wanted = OrderFactory(customer=customer, status="shipped", order_no="2596105164972071964")
    OrderFactory(customer=customer, status="completed")
    OrderFactory(status="shipped")

    by_customer = api(agent).get("/api/orders/", {"customer": customer.pk, "status": "shipped"}).json()
    by_number = api(agent).get("/api/orders/", {"order_no": "2596105164972071964"}).json()

    assert [o["id"] for o in by_customer["results"]] == [wanted.pk]
    assert [o["id"] for o in by_number["results"]] == [wanted.pk]


def test_the_order_detail_has_its_lines_and_refunds_with_the_receiver_masked(api, agent):
    order = OrderFactory(receiver_phone="13712345678", receiver_name="王小丫",
                         receiver_address="浙江省 杭州市 西湖区 文三路 100 号")
    OrderLineFactory(order=order, title="羊绒披肩")
    RefundFactory(order=order, refund_no="R1")

    body = api(agent).get(f"/api/orders/{order.pk}/").json()

    assert [line["title"] for line in body["lines"]] == ["羊绒披肩"]
    assert [refund["refund_no"] for refund in body["refunds"]] == ["R1"]
    assert body["receiver_phone"] == "137****5678"
    assert body["receiver_name"] == "王**"
    assert body["receiver_address"] == "浙江省 杭州市 西湖区 ****"


def test_an_invalid_order_filter_is_a_400(api, agent):
    response = api(agent).get("/api/orders/", {"status": "lost", "paid_after": "2026-13-40"})

    assert response.status_code == 400
    assert {"status", "paid_after"} <= set(response.json())


# --- Who may do what ------------------------------------------------------------------------------

ANON = None


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        (ANON, "get", "/api/customers/", 403),
        ("outsider", "get", "/api/customers/", 403),
        ("agent", "get", "/api/customers/", 200),
        ("staff", "get", "/api/customers/", 200),
        ("manager", "get", "/api/customers/", 200),
        ("outsider", "get", "/api/orders/", 403),
        ("agent", "get", "/api/orders/", 200),
        ("agent", "patch", "/api/customers/{id}/", 403),
        ("staff", "patch", "/api/customers/{id}/", 200),
        ("manager", "patch", "/api/customers/{id}/", 200),
        ("agent", "post", "/api/customers/{id}/reveal/", 403),
        ("staff", "post", "/api/customers/{id}/reveal/", 403),
        ("manager", "post", "/api/customers/{id}/reveal/", 200),
        ("superuser", "post", "/api/customers/{id}/reveal/", 200),
        ("manager", "delete", "/api/customers/{id}/", 405),
        ("manager", "put", "/api/customers/{id}/", 405),
        ("manager", "post", "/api/orders/", 403),  # orders come from imports: nobody may add one
    ],
)
def test_each_role_gets_the_expected_status_from_the_api(role, method, path, expected, api_client, request):
    customer = CustomerFactory()
    if role:
        api_client.force_authenticate(request.getfixturevalue(role))
    payload = {"reason": "核对"} if path.endswith("reveal/") else {"display_nick": "x"}

    response = getattr(api_client, method)(path.format(id=customer.pk), payload, format="json")

    assert response.status_code == expected
