"""Timeline events store what happened (kind + parameters) and are told in the reader's language when shown,
whichever writer recorded them: one at a time, or in bulk (import, tier moves)."""

import pytest
from django.utils import translation

from customers.importing import import_files
from customers.models import Tier, TimelineEvent
from customers.segmentation.tiers import tier_assign
from customers.services.merge import customer_merge
from customers.services.timeline import event_summary
from tests.customers.factories import CustomerFactory

from .importing_fixtures import SAMPLES

pytestmark = pytest.mark.django_db


def told(event, language):
    with translation.override(language):
        return event_summary(event)


def test_an_import_event_is_stored_as_numbers_and_told_in_either_language():
    import_files([SAMPLES / "v2023" / "ExportOrderList202403311530.csv"])
    event = TimelineEvent.objects.filter(kind="order_imported").first()

    assert event.summary == "" and event.data["created"] >= 1
    assert told(event, "en").startswith(f"Order import: {event.data['created']} new")
    assert told(event, "zh-hans") != told(event, "en")


def test_a_tier_changed_by_hand_keeps_the_reason_given_and_names_the_tiers(manager):
    customer = CustomerFactory()
    gold = Tier.objects.create(name="金卡", rank=1, min_total_paid=1000)

    tier_assign(customer=customer, tier=gold, reason="老客户补录", actor=manager)
    event = TimelineEvent.objects.get(customer=customer, kind="tier_changed")

    assert event.data == {"from": None, "to": "金卡", "reason": "老客户补录"} and event.actor == manager
    assert told(event, "en") == "Tier: no tier → 金卡 (老客户补录)"
    assert told(event, "zh-hans") == "会员等级：无会员等级 → 金卡（老客户补录）"


def test_a_merge_is_told_with_both_customers_names():
    source, target = CustomerFactory(buyer_nick="小王"), CustomerFactory(buyer_nick="老王")
    customer_merge(source=source, target=target)
    event = TimelineEvent.objects.get(customer=target, kind="customer_merged")

    assert told(event, "en") == f"{source.display_name} merged into {target.display_name}"


def test_an_older_event_that_stored_only_text_shows_its_text():
    event = TimelineEvent.objects.create(customer=CustomerFactory(), kind="order_imported",
                                         summary="订单导入：新增 1 笔", data={})
    assert told(event, "en") == "订单导入：新增 1 笔"
