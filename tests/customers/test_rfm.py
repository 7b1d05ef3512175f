"""RFM scores: quintiles with ties, thresholds, customers without paid orders, the eight groups."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer, CustomerScore, SegmentationSettings
from customers.segmentation.scores import rfm_refresh, scores_refresh
from tests.customers.factories import CustomerFactory, CustomerScoreFactory

from .segmentation_fixtures import score_row

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def paying(days_ago: int, orders: int, total: str, **kwargs) -> Customer:
    return CustomerFactory(last_paid_at=NOW - timedelta(days=days_ago), first_paid_at=NOW - timedelta(days=900),
                           paid_order_count=orders, order_count=orders, total_paid=Decimal(total), **kwargs)


def scores(customer: Customer) -> tuple:
    score = score_row(customer)
    return score.rfm_r, score.rfm_f, score.rfm_m


SCORED = ("rfm_r", "rfm_f", "rfm_m", "rfm_group", "lifecycle_stage")


def scored(customer: Customer, columns=SCORED) -> tuple:
    score = score_row(customer)
    return tuple(getattr(score, column) for column in columns)


def scores_forget() -> None:
    """As if nobody had been scored yet."""
    CustomerScore.objects.all().delete()


def test_five_customers_with_distinct_values_get_one_score_each():
    customers = [paying(days_ago=50 - i * 10, orders=i + 1, total=str(100 * (i + 1))) for i in range(5)]

    rfm_refresh(now=NOW)

    assert [scores(c) for c in customers] == [(s, s, s) for s in range(1, 6)]


def test_tied_customers_always_get_the_same_score():
    # Given 6 customers with one order and 4 with more: NTILE would split the six over two buckets
    ones = [paying(days_ago=10, orders=1, total="100") for _ in range(6)]
    more = [paying(days_ago=10, orders=n, total="100") for n in (2, 3, 4, 5)]

    rfm_refresh(now=NOW)

    f_scores = [scores(c)[1] for c in ones + more]
    assert f_scores[:6] == [1] * 6
    assert f_scores[6:] == [4, 4, 5, 5]  # ranks 6..9 of 10 → percent rank 0.67, 0.78, 0.89, 1.0


def test_all_tied_customers_score_one_on_every_run():
    customers = [paying(days_ago=5, orders=1, total="99") for _ in range(7)]

    rfm_refresh(now=NOW)
    first = [scores(c) for c in customers]
    rfm_refresh(now=NOW)

    assert first == [(1, 1, 1)] * 7
    assert [scores(c) for c in customers] == first


def test_a_customer_without_a_paid_order_gets_no_score_and_no_group():
    paying(days_ago=1, orders=3, total="300")
    prospect = CustomerFactory(order_count=2, paid_order_count=0, last_paid_at=None)
    previously_scored = CustomerScoreFactory(rfm_r=5, rfm_f=5, rfm_m=5, rfm_group="important_value").customer

    rfm_refresh(now=NOW)

    for customer in (prospect, previously_scored):
        assert scored(customer, SCORED[:4]) == (None, None, None, "")


def test_the_groups_split_each_score_at_three():
    customers = [paying(days_ago=50 - i * 10, orders=i + 1, total=str(100 * (i + 1))) for i in range(5)]
    mixed = paying(days_ago=1, orders=1, total="100000")  # recent and big spender, one order

    rfm_refresh(now=NOW)

    groups = [score_row(c).rfm_group for c in customers + [mixed]]
    assert groups[0] == "general_retain"
    assert groups[-2] == "important_value"
    assert groups[-1] == "important_develop"


def test_threshold_mode_scores_by_the_shop_limits_inclusive():
    SegmentationSettings.objects.create(
        pk=1, rfm_mode="thresholds", rfm_r_days=[30, 90, 180, 365], rfm_f_orders=[2, 3, 5, 8],
        rfm_m_amounts=[200, 500, 1000, 3000],
    )
    at_limits = paying(days_ago=30, orders=2, total="200")
    past_limits = CustomerFactory(last_paid_at=NOW - timedelta(days=30, seconds=1), paid_order_count=1,
                                  total_paid=Decimal("199.99"))
    top = paying(days_ago=0, orders=8, total="3000")
    bottom = paying(days_ago=400, orders=1, total="1")

    rfm_refresh(now=NOW)

    assert scores(at_limits) == (5, 2, 2)
    assert scores(past_limits) == (4, 1, 1)
    assert scores(top) == (5, 5, 5)
    assert scores(bottom) == (1, 1, 1)


def test_merged_away_customers_are_not_scored():
    target = paying(days_ago=1, orders=1, total="100")
    merged = paying(days_ago=1, orders=9, total="9000", merged_into=target)

    rfm_refresh(now=NOW)

    assert scores(merged) == (None, None, None)
    assert not CustomerScore.objects.filter(customer=merged).exists()


def test_the_combined_nightly_update_gives_the_same_scores_and_stages_as_the_separate_passes():
    from customers.segmentation.scores import lifecycle_refresh, scores_refresh

    customers = [paying(days_ago=d, orders=o, total=t) for d, o, t in
                 [(5, 1, "50"), (40, 2, "300"), (200, 3, "900"), (400, 9, "5000"), (10, 1, "50")]]
    prospect = CustomerScoreFactory(rfm_r=3, rfm_group="general_keep").customer
    everyone = [*customers, prospect]

    rfm_refresh(now=NOW)
    lifecycle_refresh(now=NOW)
    separate = [scored(c) for c in everyone]
    scores_forget()
    scores_refresh(now=NOW)
    combined = [scored(c) for c in everyone]

    assert combined == separate
    assert separate[-1] == (None, None, None, "", "prospect")
    assert scores_refresh(now=NOW) == 0  # nothing changed: nothing written


@pytest.mark.parametrize("mode", ["quintiles", "thresholds"])
def test_the_nightly_recompute_scores_like_rfm_refresh_in_both_modes(mode):
    # Given customers with ties, a prospect and a merged-away customer that still has old scores
    SegmentationSettings.objects.create(pk=1, rfm_mode=mode, rfm_r_days=[30, 90, 180, 365],
                                        rfm_f_orders=[2, 3, 5, 8], rfm_m_amounts=[200, 500, 1000, 3000])
    customers = [paying(days_ago=d, orders=o, total=t) for d, o, t in
                 [(30, 2, "200"), (5, 1, "50"), (5, 1, "50"), (200, 3, "900"), (400, 9, "5000"), (0, 8, "3000")]]
    prospect = CustomerScoreFactory(customer__paid_order_count=0, customer__last_paid_at=None, rfm_r=2,
                                    rfm_group="general_keep").customer
    merged = paying(days_ago=1, orders=9, total="9000", merged_into=customers[0])
    CustomerScoreFactory(customer=merged, rfm_r=5, rfm_f=5, rfm_m=5, rfm_group="important_value")
    everyone = [*customers, prospect, merged]
    columns = SCORED[:4]

    # When both ways score them
    rfm_refresh(now=NOW)
    expected = [scored(c, columns) for c in everyone]
    scores_forget()
    CustomerScoreFactory(customer=merged, rfm_r=5, rfm_group="important_value")
    scores_refresh(now=NOW)

    # Then the scores are the same, merged-away and prospects unscored
    assert [scored(c, columns) for c in everyone] == expected
    assert expected[-2:] == [(None, None, None, "")] * 2


def test_the_nightly_recompute_puts_stage_changes_on_the_timeline_and_writes_nothing_twice():
    from customers.models import TimelineEvent

    # Given an active customer, already staged
    customer = paying(days_ago=10, orders=2, total="300")
    scores_refresh(now=NOW)
    assert not TimelineEvent.objects.filter(customer=customer).exists()  # the first stage is not a change

    # When 200 days pass
    later = NOW + timedelta(days=200)
    written = scores_refresh(now=later)

    # Then the stage, its date and the timeline change once
    score = score_row(customer)
    event = TimelineEvent.objects.get(customer=customer, kind="lifecycle_changed")
    assert written == 1
    assert (score.lifecycle_stage, score.lifecycle_changed_at) == ("dormant", later)
    assert event.data == {"from": "active", "to": "dormant"}
    assert scores_refresh(now=later) == 0
    assert TimelineEvent.objects.filter(customer=customer).count() == 1


def test_no_vacuum_after_a_small_recompute_or_inside_a_transaction():
    from customers.segmentation.scores import ANALYZE_AFTER, scores_vacuum_after_recompute

    assert scores_vacuum_after_recompute(written=ANALYZE_AFTER + 1) is False  # the test runs in a transaction
    assert scores_vacuum_after_recompute(written=0) is False


@pytest.mark.django_db(transaction=True)
def test_a_big_recompute_vacuums_the_score_table_on_postgresql():
    from django.db import connection

    from customers.segmentation.scores import ANALYZE_AFTER, scores_vacuum_after_recompute

    ran = scores_vacuum_after_recompute(written=ANALYZE_AFTER + 1)

    assert ran is (connection.vendor == "postgresql")
    if ran:
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = %s",
                           [CustomerScore._meta.db_table])
            assert cursor.fetchone() == (True,)
