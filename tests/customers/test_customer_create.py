"""Creating a customer by hand: the service's identity and twin rules, the page, the API, and who may."""

import pytest
from django.core.exceptions import ValidationError

from crm.models import AuditEvent
from customers.audit import CustomerAudit
from customers.models import Customer, TimelineEvent
from customers.selectors import customer_possible_duplicates
from customers.services.profile import PossibleDuplicates, customer_create
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


# --- The service ----------------------------------------------------------------------------------


def test_a_customer_without_a_member_name_gets_a_key_no_import_can_produce(staff):
    customer = customer_create(data={"real_name": "王一", "phone": "13812341234"}, actor=staff)

    assert customer.identity_key.startswith("manual:")
    assert customer.source == Customer.Source.MANUAL
    assert customer.phone_tail == "1234" and not customer.phone_is_masked
    event = TimelineEvent.objects.get(customer=customer)
    assert event.kind == "customer_created" and event.actor == staff
    audit = AuditEvent.objects.get(action=CustomerAudit.CREATE)
    assert audit.actor == staff and audit.object_id == str(customer.pk)
    assert audit.detail == {"source": "manual", "possible_duplicates": []}


def test_a_customer_nobody_could_recognise_is_refused(staff):
    with pytest.raises(ValidationError) as error:
        customer_create(data={"city": "杭州市", "gender": "F"}, actor=staff)

    assert "__all__" in error.value.message_dict
    assert not Customer.objects.exists()


def test_the_same_phone_as_an_existing_customer_is_a_possible_twin_until_confirmed(staff):
    existing = CustomerFactory(phone="13812341234", phone_tail="1234")

    with pytest.raises(PossibleDuplicates) as error:
        customer_create(data={"display_nick": "小王", "phone": "138 1234 1234"}, actor=staff)
    assert error.value.customers == [existing]
    assert Customer.objects.count() == 1

    twin = customer_create(data={"display_nick": "小王", "phone": "138 1234 1234"}, actor=staff,
                           confirm_duplicate=True)
    assert twin.pk != existing.pk
    audit = AuditEvent.objects.get(action=CustomerAudit.CREATE)
    assert audit.detail["possible_duplicates"] == [existing.pk]


def test_a_phone_taobao_masked_matches_when_its_visible_digits_agree(db):
    masked = CustomerFactory(phone="138****1234", phone_tail="1234", phone_is_masked=True)
    CustomerFactory(phone="139****1234", phone_tail="1234", phone_is_masked=True)  # other prefix
    CustomerFactory(phone="13800001234", phone_tail="1234")  # other middle digits

    assert customer_possible_duplicates(phone="13855551234") == [masked]


def test_a_nickname_or_member_name_matches_case_aside_and_merged_customers_do_not(db):
    by_nick = CustomerFactory(display_nick="Lily小店")
    by_member_name = CustomerFactory(buyer_nick="lily小店", identity_key="fallback:xyz")
    target = CustomerFactory()
    CustomerFactory(display_nick="LILY小店", merged_into=target)

    found = customer_possible_duplicates(display_nick="LILY小店")

    assert {c.pk for c in found} == {by_nick.pk, by_member_name.pk}


def test_a_member_name_the_shop_has_is_refused_not_confirmed_past(staff):
    CustomerFactory(identity_key="nick:tb_dup", buyer_nick="tb_dup")

    with pytest.raises(ValidationError) as error:
        customer_create(buyer_nick="tb_dup", data={}, actor=staff, confirm_duplicate=True)

    assert "buyer_nick" in error.value.message_dict


def test_profile_rules_of_the_edit_apply_to_a_new_customer(staff):
    with pytest.raises(ValidationError) as error:
        customer_create(data={"real_name": "王一", "phone": "call me", "lunar_birthday_month": 13}, actor=staff)

    assert {"phone", "lunar_birthday_month"} <= set(error.value.message_dict)


# --- The page -------------------------------------------------------------------------------------


def test_shop_staff_create_a_customer_on_the_page(client_for, staff):
    page = client_for(staff).get("/customers/new/")
    assert page.status_code == 200 and 'id="customer-form"' in page.content.decode()

    response = client_for(staff).post("/customers/new/", {
        "buyer_nick": "tb_fair", "display_nick": "展会客户", "phone": "13912345678", "city": "杭州市",
    })

    customer = Customer.objects.get(buyer_nick="tb_fair")
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    assert customer.identity_key == "nick:tb_fair" and customer.source == Customer.Source.MANUAL
    detail = client_for(staff).get(response["Location"]).content.decode()
    assert "客户已创建" in detail or "展会客户" in detail
    assert TimelineEvent.objects.filter(customer=customer, kind="customer_created").exists()


def test_the_page_lists_possible_twins_and_creates_only_once_confirmed(client_for, manager):
    existing = CustomerFactory(display_nick="老客户", phone="13700001111", phone_tail="1111")
    form = {"display_nick": "新客户", "phone": "13700001111"}

    warned = client_for(manager).post("/customers/new/", form)

    page = warned.content.decode()
    assert warned.status_code == 400
    assert 'id="possible-duplicates"' in page and f'data-customer="{existing.pk}"' in page
    twins = page.split('id="possible-duplicates"')[1].split("</section>")[0]
    assert "13700001111" not in twins and "1111" in twins  # the twin's phone is masked like everywhere else
    assert 'name="confirm_duplicate"' in page and 'type="checkbox"' in page
    assert Customer.objects.count() == 1

    confirmed = client_for(manager).post("/customers/new/", {**form, "confirm_duplicate": "on"})
    assert confirmed.status_code == 302
    assert Customer.objects.count() == 2


@pytest.mark.parametrize(("field", "value"), [("phone", "abc"), ("email", "no"), ("birthday", "2999-01-01"),
                                               ("buyer_nick", "x" * 101)])
def test_the_page_shows_field_errors_and_creates_nothing(field, value, client_for, staff):
    response = client_for(staff).post("/customers/new/", {"display_nick": "x", field: value})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Customer.objects.exists()


def test_an_agent_cannot_create_customers_nor_see_the_button(client_for, agent):
    assert client_for(agent).post("/customers/new/", {"display_nick": "x"}).status_code == 403
    assert 'id="customer-create"' not in client_for(agent).get("/customers/").content.decode()
    assert not Customer.objects.exists()


def test_shop_staff_see_the_button_on_the_list(client_for, staff):
    assert 'id="customer-create"' in client_for(staff).get("/customers/").content.decode()


# --- The API --------------------------------------------------------------------------------------


def test_the_api_creates_a_customer_and_answers_it_masked(api, staff):
    response = api(staff).post("/api/customers/", {"real_name": "王小明", "phone": "13612345678",
                                                   "province": "浙江省"}, format="json")

    assert response.status_code == 201, response.data
    assert response.data["phone"] != "13612345678" and response.data["phone"].endswith("5678")
    customer = Customer.objects.get(pk=response.data["id"])
    assert customer.phone == "13612345678" and customer.source == Customer.Source.API
    assert customer.identity_key.startswith("manual:")
    assert TimelineEvent.objects.filter(customer=customer, kind="customer_created").exists()
    assert AuditEvent.objects.filter(action="create", object_id=str(customer.pk), actor=staff).exists()


def test_the_api_refuses_unknown_fields_and_invalid_values(api, manager):
    unknown = api(manager).post("/api/customers/", {"display_nick": "x", "total_paid": "9999"}, format="json")
    invalid = api(manager).post("/api/customers/", {"display_nick": "x", "birthday": "2999-01-01"}, format="json")
    empty = api(manager).post("/api/customers/", {"city": "杭州市"}, format="json")

    assert unknown.status_code == 400 and "total_paid" in unknown.data
    assert invalid.status_code == 400 and "birthday" in invalid.data
    assert empty.status_code == 400 and "non_field_errors" in empty.data
    assert not Customer.objects.exists()


def test_the_api_answers_possible_twins_and_creates_once_confirmed(api, staff):
    existing = CustomerFactory(buyer_nick="tb_same", identity_key="fallback:1")

    warned = api(staff).post("/api/customers/", {"display_nick": "TB_same"}, format="json")
    assert warned.status_code == 400
    assert [c["id"] for c in warned.data["possible_duplicates"]] == [existing.pk]
    assert "confirm_duplicate" in warned.data

    confirmed = api(staff).post("/api/customers/", {"display_nick": "TB_same", "confirm_duplicate": True},
                                format="json")
    assert confirmed.status_code == 201


@pytest.mark.parametrize(("persona", "expected"), [("agent", 403), ("outsider", 403), ("staff", 201),
                                                   ("manager", 201)])
def test_who_may_create_through_the_api(persona, expected, api, request):
    user = request.getfixturevalue(persona)

    response = api(user).post("/api/customers/", {"display_nick": f"by {persona}"}, format="json")

    assert response.status_code == expected
