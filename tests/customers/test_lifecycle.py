"""Lifecycle stages at the shop's thresholds, and stage changes on the timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from customers.models import CustomerScore, SegmentationSettings, TimelineEvent
from customers.segmentation.scores import lifecycle_refresh
from customers.services.timeline import event_summary
from tests.customers.factories import CustomerFactory

from .segmentation_fixtures import score_row

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def thresholds():
    return SegmentationSettings.objects.create(pk=1, new_days=30, dormant_days=180, churned_days=365)


def stage_of(*, first_paid, last_paid) -> str:
    customer = CustomerFactory(first_paid_at=first_paid, last_paid_at=last_paid)
    lifecycle_refresh(now=NOW, customer_ids=[customer.pk])
    return score_row(customer).lifecycle_stage


def test_a_customer_with_only_unpaid_orders_is_a_prospect():
    assert stage_of(first_paid=None, last_paid=None) == "prospect"


@pytest.mark.parametrize(
    ("days_since_last", "offset", "expected"),
    [
        (180, -SECOND, "active"),  # one second before the dormant threshold
        (180, timedelta(0), "dormant"),  # exactly 180 days without a paid order
        (365, -SECOND, "dormant"),
        (365, timedelta(0), "churned"),  # exactly 365 days
        (400, timedelta(0), "churned"),
    ],
)
def test_stages_change_exactly_at_the_threshold_days(days_since_last, offset, expected):
    last = NOW - days_since_last * DAY - offset

    assert stage_of(first_paid=NOW - 500 * DAY, last_paid=last) == expected


def test_a_customer_is_new_until_the_new_days_have_passed_since_the_first_paid_order():
    just_new = stage_of(first_paid=NOW - 30 * DAY + SECOND, last_paid=NOW - DAY)
    no_longer_new = stage_of(first_paid=NOW - 30 * DAY, last_paid=NOW - DAY)

    assert (just_new, no_longer_new) == ("new", "active")


def test_a_stage_change_is_recorded_on_the_timeline_with_both_stages():
    # Given an active customer
    customer = CustomerFactory(first_paid_at=NOW - 300 * DAY, last_paid_at=NOW - 10 * DAY)
    lifecycle_refresh(now=NOW)
    assert not TimelineEvent.objects.filter(customer=customer).exists()  # the first stage is not a change

    # When 180 days pass without an order
    changed = lifecycle_refresh(now=NOW + 170 * DAY)

    # Then the customer is dormant and the timeline says so, once
    score = score_row(customer)
    event = TimelineEvent.objects.get(customer=customer, kind="lifecycle_changed")
    assert changed == 1
    assert score.lifecycle_stage == "dormant"
    assert score.lifecycle_changed_at == NOW + 170 * DAY
    assert event.data == {"from": "active", "to": "dormant"}
    with translation.override("en"):  # told in the reader's language when shown
        assert event_summary(event) == "Lifecycle stage: Active → Dormant"
    with translation.override("zh-hans"):
        assert event_summary(event) == "生命周期阶段：活跃客户 → 沉睡客户"
    assert lifecycle_refresh(now=NOW + 170 * DAY) == 0
    assert TimelineEvent.objects.filter(customer=customer).count() == 1


def test_the_thresholds_are_the_shops(thresholds):
    thresholds.dormant_days = 60
    thresholds.save()

    assert stage_of(first_paid=NOW - 500 * DAY, last_paid=NOW - 60 * DAY) == "dormant"


def test_only_the_given_customers_are_refreshed():
    mine = CustomerFactory(first_paid_at=NOW - DAY, last_paid_at=NOW - DAY)
    other = CustomerFactory(first_paid_at=NOW - DAY, last_paid_at=NOW - DAY)

    lifecycle_refresh(now=NOW, customer_ids=[mine.pk])

    assert (score_row(mine).lifecycle_stage, score_row(other).lifecycle_stage) == ("new", "")
    assert not CustomerScore.objects.filter(customer=other).exists()
