"""The segmentation management commands and the Celery task run the same services."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import Customer, PointsEntry, Product
from customers.tasks import segmentation_refresh_task
from tests.customers.factories import CustomerFactory, OrderFactory, TierFactory

pytestmark = pytest.mark.django_db


def test_the_refresh_command_scores_stages_tiers_and_points_everyone():
    TierFactory(name="普通会员", rank=1, min_total_paid=Decimal("0"))
    customer = CustomerFactory(first_paid_at=timezone.now() - timedelta(days=3),
                               last_paid_at=timezone.now() - timedelta(days=3), paid_order_count=1,
                               total_paid=Decimal("100"))
    OrderFactory(customer=customer, paid_amount=Decimal("100"))
    out = StringIO()

    call_command("segmentation_refresh", "--nightly", stdout=out)

    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.score.rfm_r, customer.score.lifecycle_stage, customer.tier.name) == (1, "new", "普通会员")
    assert customer.points_balance == PointsEntry.objects.get().delta == 100
    assert "已更新 RFM 评分和生命周期阶段: 1" in out.getvalue()


def test_the_refresh_task_limits_stages_to_the_given_customers():
    mine = CustomerFactory(first_paid_at=timezone.now(), last_paid_at=timezone.now(), paid_order_count=1)
    other = CustomerFactory(first_paid_at=timezone.now(), last_paid_at=timezone.now(), paid_order_count=1)

    segmentation_refresh_task(customer_ids=[mine.pk])

    assert Customer.objects.get(pk=mine.pk).current_score.lifecycle_stage == "new"
    assert Customer.objects.get(pk=other.pk).current_score.lifecycle_stage == ""


def test_the_tier_review_command_reports_how_many_moved_down():
    vip = TierFactory(name="VIP", rank=3, min_total_paid=Decimal("5000"))
    TierFactory(name="普通", rank=1, min_total_paid=Decimal("0"))
    CustomerFactory(tier=vip, total_paid=Decimal("100"))
    out = StringIO()

    call_command("tiers_review", stdout=out)

    assert "降级客户数：1" in out.getvalue()


def test_the_repurchase_interval_is_the_median_of_days_between_paid_purchases():
    from customers.models import OrderLine
    from customers.segmentation.repurchase import repurchase_intervals_refresh

    product = Product.objects.create(key="P1", title="洗发水")
    once = Product.objects.create(key="P2", title="一次性")
    start = timezone.now() - timedelta(days=200)
    for customer_gaps in ([30, 40], [60]):  # gaps 30, 40 and 60 days → median 40
        customer = CustomerFactory()
        day = start
        for gap in [0, *customer_gaps]:
            day += timedelta(days=gap)
            order = OrderFactory(customer=customer, paid_at=day)
            OrderLine.objects.create(line_key=f"{order.order_no}:1", order_no=order.order_no, order=order,
                                     product=product)
    order = OrderFactory()
    OrderLine.objects.create(line_key=f"{order.order_no}:1", order_no=order.order_no, order=order, product=once)

    repurchase_intervals_refresh()

    product.refresh_from_db()
    once.refresh_from_db()
    assert (product.repurchase_interval_days, once.repurchase_interval_days) == (40, None)
