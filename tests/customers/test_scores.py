"""The score table (CustomerScore): who gets a row, what it holds, who reads it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, CustomerScore
from customers.segmentation.lifecycle import stage_label
from customers.segmentation.scores import scores_refresh
from customers.segmentation.selectors import segment_members
from customers.services.merge import customer_merge
from tests.customers.factories import CustomerFactory, CustomerScoreFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = timedelta(days=1)


def paying(days_ago: int, **kwargs) -> Customer:
    return CustomerFactory(last_paid_at=NOW - days_ago * DAY, first_paid_at=NOW - 900 * DAY, paid_order_count=1,
                           order_count=1, total_paid=Decimal("100"), **kwargs)


def test_the_first_scoring_gives_every_unmerged_customer_a_row_prospects_included():
    # Given customers never scored, one of them merged away
    buyer = paying(days_ago=10)
    prospect = CustomerFactory(last_paid_at=None)
    CustomerFactory(merged_into=buyer)

    # When they are scored for the first time
    written = scores_refresh(now=NOW)

    # Then each unmerged customer has one row, with the stage, its date and the recency copy
    rows = {s.customer_id: s for s in CustomerScore.objects.all()}
    assert written == 2
    assert set(rows) == {buyer.pk, prospect.pk}
    assert (rows[buyer.pk].lifecycle_stage, rows[buyer.pk].rfm_r) == ("active", 1)
    assert rows[buyer.pk].last_paid_at == buyer.last_paid_at
    assert rows[buyer.pk].lifecycle_changed_at == NOW
    assert (rows[prospect.pk].lifecycle_stage, rows[prospect.pk].rfm_group) == ("prospect", "")


def test_a_customer_scored_before_is_updated_not_inserted_again():
    customer = paying(days_ago=10)
    scores_refresh(now=NOW)

    written = scores_refresh(now=NOW + 200 * DAY)

    assert written == 1
    assert CustomerScore.objects.get(customer=customer).lifecycle_stage == "dormant"
    assert CustomerScore.objects.count() == 1


def test_the_recency_copy_follows_the_customer_at_the_next_scoring():
    # Given a scored customer who then pays again (an import set the new date)
    customer = paying(days_ago=100)
    scores_refresh(now=NOW)
    Customer.objects.filter(pk=customer.pk).update(last_paid_at=NOW - DAY)

    scores_refresh(now=NOW)

    assert CustomerScore.objects.get(customer=customer).last_paid_at == NOW - DAY


def test_a_merged_away_customer_keeps_no_scores():
    source, target = paying(days_ago=5), paying(days_ago=50)
    scores_refresh(now=NOW)

    customer_merge(source=source, target=target)

    assert not CustomerScore.objects.filter(customer=source).exists()
    assert CustomerScore.objects.filter(customer=target).exists()


def test_an_unscored_customer_reads_as_blank_scores():
    customer = CustomerFactory()

    score = Customer.objects.get(pk=customer.pk).current_score

    assert (score.rfm_r, score.rfm_group, score.lifecycle_stage, score.pk) == (None, "", "", customer.pk)
    assert not CustomerScore.objects.exists()  # reading never creates a row


def test_the_stage_filter_of_the_list_orders_by_recency_within_the_stage(client_for, agent):
    # Given churned customers paid at different times, an active one and an unscored one
    for nick, days in (("older", 500), ("newest", 400), ("oldest", 700), ("active", 5)):
        paying(days_ago=days, buyer_nick=nick)
    scores_refresh(now=NOW)
    CustomerFactory(buyer_nick="unscored", last_paid_at=NOW - 450 * DAY)

    newest_first = client_for(agent).get(reverse("customers:list"), {"lifecycle": "churned"})
    oldest_first = client_for(agent).get(reverse("customers:list"), {"lifecycle": "churned", "sort": "last_paid"})

    assert [c.buyer_nick for c in newest_first.context["customers"]] == ["newest", "older", "oldest"]
    assert [c.buyer_nick for c in oldest_first.context["customers"]] == ["oldest", "older", "newest"]
    assert [c.stage_label for c in newest_first.context["customers"]] == [stage_label("churned")] * 3


def test_the_api_gives_scores_under_their_names_and_blank_ones_for_an_unscored_customer(api, agent):
    scored = CustomerScoreFactory(rfm_r=4, rfm_f=2, rfm_m=5, rfm_group="important_develop",
                                  lifecycle_stage="active").customer
    unscored = CustomerFactory()

    body = {c["id"]: c for c in api(agent).get("/api/customers/").json()["results"]}

    fields = ("rfm_r", "rfm_f", "rfm_m", "rfm_group", "lifecycle_stage")
    assert tuple(body[scored.pk][f] for f in fields) == (4, 2, 5, "important_develop", "active")
    assert tuple(body[unscored.pk][f] for f in fields) == (None, None, None, "", "")


def test_score_conditions_select_through_the_score_table_and_not_in_keeps_the_unscored():
    champion = CustomerScoreFactory(rfm_group="important_value", lifecycle_stage="active").customer
    other = CustomerScoreFactory(rfm_group="general_retain", lifecycle_stage="churned").customer
    unscored = CustomerFactory()

    def ids(operator, value):
        definition = {"op": "and", "conditions": [{"field": "rfm_group", "operator": operator, "value": value}]}
        return set(segment_members(definition).values_list("id", flat=True))

    assert ids("in", ["important_value"]) == {champion.pk}
    assert ids("not_in", ["important_value"]) == {other.pk, unscored.pk}
