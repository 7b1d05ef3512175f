"""Customer writes entered by hand: create, consent, opt-out."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import AuditEvent
from customers.models import Customer, TimelineEvent
from customers.services.contact import customer_contact_reveal
from customers.services.profile import customer_consent_give, customer_create, customer_opt_out, customer_update
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_customer_entered_by_hand_is_manual_and_keyed_like_an_import_would_key_it(staff):
    customer = customer_create(buyer_nick="tb_new", data={"phone": "13812341234", "city": "杭州市"}, actor=staff)

    assert customer.source == Customer.Source.MANUAL
    assert customer.identity_key == "nick:tb_new"
    assert customer.phone_tail == "1234"
    assert TimelineEvent.objects.filter(customer=customer, kind="customer_created").exists()


def test_a_customer_without_a_member_name_gets_a_key_of_its_own(staff):
    first = customer_create(data={"real_name": "王一"}, actor=staff)
    second = customer_create(data={"real_name": "王一"}, actor=staff)

    assert first.identity_key != second.identity_key


def test_creating_a_customer_whose_member_name_exists_is_refused(staff):
    CustomerFactory(identity_key="nick:tb_dup", buyer_nick="tb_dup")

    with pytest.raises(ValidationError) as error:
        customer_create(buyer_nick="tb_dup", data={}, actor=staff)

    assert "buyer_nick" in error.value.message_dict


def test_an_update_that_changes_nothing_records_nothing(staff):
    customer = CustomerFactory(display_nick="同样")

    customer_update(customer=customer, data={"display_nick": "同样"}, actor=staff)

    assert not TimelineEvent.objects.filter(kind="customer_edited").exists()


def test_opting_out_is_recorded_once_however_often_it_is_asked(staff):
    customer = CustomerFactory()

    customer_opt_out(customer=customer, actor=staff, source="短信回复 TD")
    customer_opt_out(customer=customer, actor=staff, source="短信回复 TD")

    customer.refresh_from_db()
    assert customer.opted_out and customer.opted_out_at
    assert TimelineEvent.objects.filter(customer=customer, kind="opted_out").count() == 1
    assert customer not in Customer.objects.marketable()


def test_consent_records_its_source_and_time_and_lifts_an_opt_out(staff):
    customer = CustomerFactory(opted_out=True)

    customer_consent_give(customer=customer, source="店铺会员入会", actor=staff)

    customer.refresh_from_db()
    assert (customer.marketing_consent, customer.consent_source, customer.opted_out) == (True, "店铺会员入会", False)
    assert customer.consent_at is not None
    assert TimelineEvent.objects.filter(customer=customer, kind="consent_given").exists()


def test_consent_without_a_source_is_refused(staff):
    with pytest.raises(ValidationError):
        customer_consent_give(customer=CustomerFactory(), source=" ", actor=staff)


def test_a_role_without_the_reveal_permission_cannot_reveal_even_through_the_service(staff):
    customer = CustomerFactory()

    with pytest.raises(PermissionDenied):
        customer_contact_reveal(customer=customer, actor=staff, reason="想看")

    assert not AuditEvent.objects.exists()
