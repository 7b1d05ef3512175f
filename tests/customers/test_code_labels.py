"""Coded values (an RFM group, a stage, a source, a yes/no, an order status) reach people as words, on the pages,
in the exports and on the command line; never as the stored code."""

import csv
import io
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from customers.importing.messages import reason_display
from tests.customers.factories import CustomerFactory, CustomerScoreFactory, OrderFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored():
    customer = CustomerFactory(source="import", marketing_consent=False, opted_out=False, gender="F",
                               last_paid_at=timezone.now(), total_paid=Decimal("1234.50"))
    CustomerScoreFactory(customer=customer, rfm_group="important_value", lifecycle_stage="active")
    return customer


def test_the_customer_page_names_the_rfm_group(scored, client_for, manager):
    page = client_for(manager).get(reverse("customers:detail", args=[scored.pk])).content.decode()

    assert "important_value" not in page
    assert "重要价值客户" in page


def test_the_export_writes_labels_not_codes(scored, client_for, manager):
    response = client_for(manager).get(reverse("customers:export"), {"format": "csv"})
    row = next(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    values = set(row.values())
    assert not values & {"import", "False", "True", "active", "important_value", "F"}
    assert {"重要价值客户", "活跃客户", "否", "女"} <= values


def test_an_import_warning_names_the_kept_order_status():
    reason = "order 1001 appears again with different content (first at line 2); kept: completed"

    with override("zh-hans"):
        shown = reason_display(reason)

    assert "completed" not in shown and "交易成功" in shown


def test_the_segmentation_command_reports_in_the_shops_language():
    out = StringIO()

    with override("zh-hans"):
        call_command("segmentation_refresh", stdout=out)

    assert "rfm_and_lifecycle" not in out.getvalue()
    assert "已更新 RFM 评分和生命周期阶段" in out.getvalue()


def test_the_tier_review_command_reports_in_the_shops_language():
    vip = TierFactory(name="VIP", rank=3, min_total_paid=Decimal("5000"))
    CustomerFactory(tier=vip, total_paid=Decimal("100"))
    out = StringIO()

    with override("zh-hans"):
        call_command("tiers_review", stdout=out)

    assert out.getvalue().strip() == "降级客户数：1"


def test_money_has_a_thousands_separator_everywhere_it_shows(scored, client_for, manager):
    OrderFactory(customer=scored, paid_amount=Decimal("23456.70"), total_amount=Decimal("23456.70"))
    client = client_for(manager)

    listing = client.get(reverse("customers:list")).content.decode()
    detail = client.get(reverse("customers:detail", args=[scored.pk])).content.decode()

    assert "¥1,234.50" in listing and "1234.50" not in listing
    assert "¥1,234.50" in detail and "¥23,456.70" in detail


def test_the_order_page_shows_the_status_once_and_only_the_refund_status_in_its_cell(client_for, manager):
    from tests.customers.factories import OrderLineFactory

    order = OrderFactory(status="completed", status_text="交易成功")
    OrderLineFactory(order=order, refund_status="退款成功", refund_amount=Decimal("88.00"))

    page = client_for(manager).get(reverse("customers:order-detail", args=[order.pk])).content.decode()

    order_panel = page.split('id="order"')[1].split("</section>")[0]
    lines_panel = page.split('id="lines"')[1].split("</section>")[0]
    assert order_panel.count("交易成功") == 1
    assert "<td>退款成功</td>" in lines_panel and "88.00" not in lines_panel
