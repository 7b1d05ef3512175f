"""Hostile or broken input to the import (issue 18): cut phones, orphan lines, rejected files, oversized fields and
workbooks. Each file's trouble is that file's entry; what could be imported is."""

import pytest

from customers.importing import import_files
from customers.models import Customer, Order

from .importing_fixtures import LINE_HEADER_2017, ORDER_HEADER, line_row, order_row, write_export

pytestmark = pytest.mark.django_db
ROW_BY_ROW = 1 << 62  # HUIKE_IMPORT_STAGE_MIN_BYTES that no file reaches
STAGED = 0


@pytest.mark.postgres
@pytest.mark.parametrize("min_bytes", [ROW_BY_ROW, STAGED], ids=["row-by-row", "staged"])
def test_a_cell_with_two_phones_keeps_the_first_whole_and_warns(settings, tmp_path, min_bytes):
    # Given an order whose 联系手机 lists two numbers, longer than the customer's phone column
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = min_bytes
    path = write_export(tmp_path / "orders.csv", ORDER_HEADER, [
        order_row(联系手机="'13933330006 / 13933330007"),
        order_row(订单编号='="3003249668502739002"', 买家会员名="tb_bob", 联系手机="'1393333000613933330007123"),
    ])

    # When it is imported
    summary = import_files([path])

    # Then the first number is stored whole, never a cut one, and the file warns about both cells
    entry = summary["files"][0]
    assert entry["orders_created"] == 2, entry
    alice = Customer.objects.get(buyer_nick="tb_alice")
    assert alice.phone == "13933330006" and alice.phone_tail == "0006"
    assert Order.objects.get(order_no="3003249668502739001").receiver_phone == "13933330006"
    bob = Customer.objects.get(buyer_nick="tb_bob")
    assert bob.phone == "" and Order.objects.get(order_no="3003249668502739002").receiver_phone == ""
    warnings = {w["line"]: w for w in entry["warnings"]}
    assert warnings[2]["column"] == "联系手机" and warnings[2]["value"] == "13933330006 / 13933330007"
    assert "13933330006" in warnings[2]["reason"]
    assert "not kept" in warnings[3]["reason"]


@pytest.mark.postgres
def test_a_file_with_a_field_over_the_csv_limit_fails_alone_and_the_other_file_keeps_its_summary(settings, tmp_path):
    # Given a good 订单报表 and a big 宝贝报表 whose first record holds a field far over Python's csv field limit
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 1 << 20
    orders = write_export(tmp_path / "orders.csv", ORDER_HEADER, [order_row()])
    huge = "备" * (1 << 19)  # 512 K characters, 1.5 MB in GB18030: the file is big enough to be staged
    lines = write_export(tmp_path / "lines.csv", LINE_HEADER_2017, [line_row(备注=huge), line_row(标题="第二件")])

    # When both are imported in one run
    summary = import_files([orders, lines])

    # Then the 订单报表 keeps its own summary, the 宝贝报表 has its own entry saying what went wrong with it, and
    # the customers of what landed are handed on for their refresh
    by_name = {f["file"]: f for f in summary["files"]}
    assert by_name["orders.csv"]["status"] == "ok" and by_name["orders.csv"]["orders_created"] == 1
    assert Order.objects.count() == 1
    assert summary["status"] in ("succeeded", "partial")
    assert summary["customer_ids"] == [Customer.objects.get().pk]
    bad = by_name["lines.csv"]
    assert bad["rows"] == 2 and bad["lines_created"] == 1, bad  # read row by row: the huge row is its error
    assert bad["error_count"] == 1 and bad["errors"][0]["line"] == 2
    assert bad["errors"][0]["reason"] == "longer than 255 characters"
