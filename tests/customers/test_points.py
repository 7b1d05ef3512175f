"""The points ledger: earn on paid orders, reverse on refunds, hand adjustments, redemption, expiry.
After every step the balance equals the ledger sum."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from customers.models import Customer, OrderStatus, PointsEntry, SegmentationSettings
from customers.segmentation.points import points_adjust, points_expire, points_redeem, points_sync_orders
from tests.customers.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def balance_matches_ledger(customer: Customer) -> int:
    customer.refresh_from_db()
    ledger = PointsEntry.objects.filter(customer=customer).aggregate(total=Sum("delta"))["total"] or 0
    assert customer.points_balance == ledger
    return ledger


@pytest.fixture
def shop():
    return SegmentationSettings.objects.create(pk=1, points_per_yuan=Decimal("1.5"), points_expiry="never")


def test_paid_orders_earn_points_at_the_ratio_once_however_often_the_sync_runs(shop):
    customer = CustomerFactory()
    OrderFactory(customer=customer, paid_amount=Decimal("99.99"))
    OrderFactory(customer=customer, paid_amount=Decimal("10"))
    OrderFactory(customer=customer, paid_amount=Decimal("50"), paid_at=None, status=OrderStatus.UNPAID)

    points_sync_orders(customer_ids=[customer.pk])
    points_sync_orders()

    assert balance_matches_ledger(customer) == 149 + 15  # floor(99.99 × 1.5) + 10 × 1.5
    assert PointsEntry.objects.filter(kind="earn").count() == 2


def test_a_refund_reverses_the_points_of_its_share_of_the_order_once(shop):
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, paid_amount=Decimal("100"))
    closed = OrderFactory(customer=customer, paid_amount=Decimal("20"))
    points_sync_orders()

    order.refund_amount = Decimal("40")
    order.save()
    closed.status = OrderStatus.CLOSED
    closed.save()
    points_sync_orders()
    points_sync_orders()

    assert balance_matches_ledger(customer) == 150 + 30 - 60 - 30
    assert PointsEntry.objects.filter(kind="reverse").count() == 2


def test_a_hand_adjustment_needs_a_reason_and_is_a_new_entry(shop, manager):
    customer = CustomerFactory()

    with pytest.raises(ValidationError):
        points_adjust(customer=customer, delta=10, reason=" ", actor=manager)
    points_adjust(customer=customer, delta=30, reason="补偿", actor=manager)
    points_adjust(customer=customer, delta=-5, reason="更正", actor=manager)

    assert balance_matches_ledger(customer) == 25
    assert PointsEntry.objects.filter(created_by=manager).count() == 2


def test_redeeming_more_than_the_balance_is_refused(shop, staff):
    customer = CustomerFactory()
    points_adjust(customer=customer, delta=100, reason="活动", actor=staff)

    points_redeem(customer=customer, points=60, reason="兑换优惠券", actor=staff)
    with pytest.raises(ValidationError):
        points_redeem(customer=customer, points=41, reason="兑换", actor=staff)

    assert balance_matches_ledger(customer) == 40


def test_points_expire_at_the_end_of_the_next_year_less_what_was_spent_and_only_once(shop):
    shop.points_expiry = "year_end"
    shop.save()
    customer = CustomerFactory()
    paid_2024 = timezone.make_aware(datetime(2024, 6, 1, 12))
    OrderFactory(customer=customer, paid_amount=Decimal("100"), paid_at=paid_2024)  # 150, expire 2026-01-01
    OrderFactory(customer=customer, paid_amount=Decimal("100"), paid_at=paid_2024 + timedelta(days=365))  # 2027
    points_sync_orders()
    points_redeem(customer=customer, points=100, reason="兑换", actor=None)

    before = points_expire(now=timezone.make_aware(datetime(2025, 12, 31, 23)))
    expired = points_expire(now=timezone.make_aware(datetime(2026, 1, 1, 0, 0)))
    again = points_expire(now=timezone.make_aware(datetime(2026, 1, 2)))

    assert (before, expired, again) == (0, 1, 0)
    assert PointsEntry.objects.get(kind="expire").delta == -50  # 150 earned then, 100 of them spent
    assert balance_matches_ledger(customer) == 150


def test_a_ledger_entry_has_no_change_or_delete_permission(manager):
    assert manager.has_perm("customers.add_pointsentry")
    assert not manager.has_perm("customers.change_pointsentry")
    assert not manager.has_perm("customers.delete_pointsentry")


def test_the_api_adjusts_and_lists_the_ledger(api_client, staff, shop):
    customer = CustomerFactory()
    api_client.force_authenticate(staff)

    created = api_client.post("/api/points/", {"customer": customer.pk, "kind": "adjust", "points": 20,
                                               "reason": "活动"}, format="json")
    refused = api_client.post("/api/points/", {"customer": customer.pk, "kind": "redeem", "points": 21},
                              format="json")
    listed = api_client.get(f"/api/points/?customer={customer.pk}")

    assert created.status_code == 201
    assert refused.status_code == 400
    assert listed.json()["count"] == 1
    assert balance_matches_ledger(customer) == 20
