"""A refund is linked to the order line it refunds when the export makes that certain, whatever the file order."""

import pytest
from django.urls import reverse

from customers.importing import import_files
from customers.models import Customer, Refund

from .importing_fixtures import (
    LINE_HEADER_2017,
    ORDER_HEADER,
    REFUND_HEADER,
    line_row,
    order_row,
    refund_row,
    write_export,
)

pytestmark = pytest.mark.django_db

MUG = {"标题": "陶瓷马克杯", "商家编码": "JJ-MKB", "外部系统编号": "JJ-MKB"}
BOWL = {"标题": "粗陶饭碗", "商家编码": "JJ-FW", "外部系统编号": "JJ-FW"}


def files(tmp_path, lines, refunds):
    return [
        write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row()]),
        write_export(tmp_path / "ExportOrderDetailList.csv", LINE_HEADER_2017, [line_row(**x) for x in lines]),
        write_export(tmp_path / "RefundExport.csv", REFUND_HEADER, [refund_row(**r) for r in refunds]),
    ]


def linked_title(refund_no="3003249668502739901"):
    line = Refund.objects.get(refund_no=refund_no).line
    return line and line.title


def test_a_refund_is_linked_to_the_line_with_its_product_code(tmp_path):
    import_files(files(tmp_path, [MUG, BOWL], [{"商品编码": "JJ-FW", "宝贝标题": ""}]))

    assert linked_title() == "粗陶饭碗"


def test_without_a_code_the_title_decides(tmp_path):
    import_files(files(tmp_path, [MUG, BOWL], [{"商品编码": "", "宝贝标题": "陶瓷马克杯"}]))

    assert linked_title() == "陶瓷马克杯"


def test_the_only_line_of_an_order_is_the_refunded_one(tmp_path):
    import_files(files(tmp_path, [BOWL], [{"商品编码": "", "宝贝标题": "别的名字"}]))

    assert linked_title() == "粗陶饭碗"


def test_two_candidate_lines_leave_the_refund_on_its_order_only(tmp_path):
    same_title = {**BOWL, "标题": "陶瓷马克杯"}
    import_files(files(tmp_path, [MUG, same_title], [{"商品编码": "", "宝贝标题": "陶瓷马克杯"}]))

    refund = Refund.objects.get()
    assert refund.order is not None and refund.line is None


@pytest.mark.parametrize("order", [(2, 1, 0), (1, 2, 0), (2, 0, 1)], ids=["refunds-first", "lines-last", "orders-last"])
def test_the_link_is_made_whichever_file_is_imported_last(tmp_path, order):
    paths = files(tmp_path, [MUG, BOWL], [{"商品编码": "JJ-FW"}])

    for index in order:  # one import per file, in this order
        import_files([paths[index]])

    assert linked_title() == "粗陶饭碗"


def test_the_order_page_and_api_name_the_refunded_line(tmp_path, client_for, api, agent):
    import_files(files(tmp_path, [MUG, {**BOWL, "商品属性": "颜色分类：灰"}], [{"商品编码": "JJ-FW"}]))
    refund = Refund.objects.get()

    page = client_for(agent).get(reverse("customers:order-detail", args=[refund.order_id])).content.decode()
    body = api(agent).get(f"/api/orders/{refund.order_id}/").json()

    assert "粗陶饭碗 <span class=\"muted\">颜色分类：灰</span>" in page
    assert body["refunds"][0]["line"] == refund.line_id


def test_a_lines_only_import_names_the_customers_whose_purchases_changed(tmp_path):
    # Given orders imported on their own (lines not yet)
    orders, lines, _ = files(tmp_path, [MUG, BOWL], [{}])
    import_files([orders])
    customer = Customer.objects.get()

    # When the item report comes later, alone
    summary = import_files([lines])

    # Then its customers are handed to the segmentation that follows (auto-tags by product, products bought)
    assert summary["customer_ids"] == [customer.pk]
    assert import_files([lines])["customer_ids"] == []  # unchanged lines: nobody
