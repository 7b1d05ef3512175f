"""Membership tiers: automatic upgrades, no automatic downgrade, the yearly review, hand changes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Customer, SegmentationSettings, TimelineEvent
from customers.segmentation.tiers import tier_assign, tier_validate_count, tiers_upgrade, tiers_yearly_review
from tests.customers.factories import CustomerFactory, OrderFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ladder():
    return {
        "normal": TierFactory(name="普通会员", rank=1, min_total_paid=Decimal("0"), min_paid_orders=1),
        "senior": TierFactory(name="高级会员", rank=2, min_total_paid=Decimal("1000"), min_paid_orders=3),
        "vip": TierFactory(name="VIP", rank=3, min_total_paid=Decimal("5000"), min_paid_orders=10),
    }


def tier_of(customer: Customer):
    return Customer.objects.get(pk=customer.pk).tier


def test_a_customer_moves_up_to_the_highest_tier_reached_with_the_reason_on_the_timeline(ladder):
    customer = CustomerFactory(total_paid=Decimal("1000"), paid_order_count=2)

    moved = tiers_upgrade()

    assert moved == 1
    assert tier_of(customer) == ladder["senior"]
    event = TimelineEvent.objects.get(customer=customer, kind="tier_changed")
    assert event.data["to"] == "高级会员"
    assert event.data["reason"]


def test_a_customer_is_never_moved_down_automatically(ladder):
    customer = CustomerFactory(total_paid=Decimal("200"), tier=ladder["vip"])

    tiers_upgrade()

    assert tier_of(customer) == ladder["vip"]
    assert not TimelineEvent.objects.filter(customer=customer).exists()


def test_tiers_can_go_by_paid_order_count(ladder):
    SegmentationSettings.objects.create(pk=1, tier_basis="orders")
    customer = CustomerFactory(total_paid=Decimal("10"), paid_order_count=10)

    tiers_upgrade(customer_ids=[customer.pk])

    assert tier_of(customer) == ladder["vip"]


def test_the_yearly_review_moves_down_who_no_longer_reaches_their_tier_in_the_window(ladder):
    SegmentationSettings.objects.create(pk=1, tier_window_days=365)
    now = timezone.now()
    lapsed = CustomerFactory(tier=ladder["vip"])
    OrderFactory(customer=lapsed, paid_amount=Decimal("6000"), paid_at=now - timedelta(days=400))
    OrderFactory(customer=lapsed, paid_amount=Decimal("1200"), paid_at=now - timedelta(days=30))
    loyal = CustomerFactory(tier=ladder["vip"])
    OrderFactory(customer=loyal, paid_amount=Decimal("5000"), paid_at=now - timedelta(days=30))

    moved = tiers_yearly_review(now=now)
    upgraded_again = tiers_upgrade(now=now)

    assert moved == 1
    assert tier_of(lapsed) == ladder["senior"]
    assert tier_of(loyal) == ladder["vip"]
    assert upgraded_again == 0  # upgrades count the same window, so nobody bounces straight back
    assert TimelineEvent.objects.get(customer=lapsed, kind="tier_changed").data["from"] == "VIP"


def test_a_hand_change_may_go_down_and_records_who_and_why(ladder, manager):
    customer = CustomerFactory(tier=ladder["vip"])

    tier_assign(customer=customer, tier=ladder["normal"], reason="违规刷单", actor=manager)

    event = TimelineEvent.objects.get(customer=customer)
    assert tier_of(customer) == ladder["normal"]
    assert (event.actor, event.data["reason"]) == (manager, "违规刷单")


def test_a_shop_has_at_most_six_tiers(ladder):
    for rank in (4, 5, 6):
        TierFactory(rank=rank)

    with pytest.raises(ValidationError):
        tier_validate_count(adding=True)


def test_the_api_refuses_a_seventh_tier(api_client, staff, ladder):
    for rank in (4, 5, 6):
        TierFactory(rank=rank)
    api_client.force_authenticate(staff)

    response = api_client.post("/api/tiers/", {"name": "太多", "rank": 7}, format="json")

    assert response.status_code == 400
