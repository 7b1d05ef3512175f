"""One rule decides who may receive marketing: Customer.objects.marketable(), used by the segment snapshot and,
later, the sending path."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from customers.segmentation.selectors import segment_snapshot
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def consenting(**fields):
    return CustomerFactory(marketing_consent=True, **fields)


def test_only_consenting_reachable_customers_who_did_not_opt_out_are_marketable():
    ok = consenting()
    consenting(opted_out=True)
    CustomerFactory(marketing_consent=False)
    merged_away = consenting()
    merged_away.merged_into = ok
    merged_away.save()
    consenting(phone="", email="")  # nothing to send to

    assert list(Customer.objects.marketable()) == [ok]


def test_sms_needs_a_phone_taobao_did_not_mask_and_a_virtual_number_that_has_not_expired():
    now = timezone.now()
    plain = consenting()
    consenting(phone="158****8561", phone_is_masked=True)
    live_virtual = consenting(phone_is_virtual=True, phone_virtual_expires_at=now + timedelta(days=3))
    consenting(phone_is_virtual=True, phone_virtual_expires_at=now - timedelta(days=1))
    email_only = consenting(phone="", email="a@example.com")

    assert set(Customer.objects.marketable("sms", now=now)) == {plain, live_virtual}
    assert set(Customer.objects.marketable("email", now=now)) == {email_only}
    assert email_only in Customer.objects.marketable(now=now)


def test_an_unknown_channel_is_refused():
    with pytest.raises(ValueError):
        Customer.objects.marketable("fax")


def test_the_segment_snapshot_keeps_only_marketable_members_when_asked():
    ok = consenting(city="杭州市")
    CustomerFactory(city="杭州市", marketing_consent=False)
    consenting(city="杭州市", opted_out=True)
    definition = {"op": "and", "conditions": [{"field": "city", "operator": "eq", "value": "杭州市"}]}

    assert len(segment_snapshot(definition)) == 3
    assert segment_snapshot(definition, marketable_only=True).customer_ids == (ok.pk,)
