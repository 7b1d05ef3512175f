"""python manage.py import_orders: --json output and exit statuses."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Order

from .importing_fixtures import ORDER_HEADER, SAMPLES, order_row, write_export

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_orders", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, out.getvalue(), err.getvalue()


def test_json_prints_exactly_one_object_and_exits_0_with_row_errors():
    code, out, err = run(str(SAMPLES / "v2017/ExportOrderList202403311530.csv"), "--json")

    summary = json.loads(out)  # fails if anything else was printed on stdout
    assert code == 0
    [entry] = summary["files"]
    assert entry["kind"] == "orders" and entry["orders_created"] == 56 and entry["error_count"] == 4
    assert {"file", "line", "column", "value", "reason"} == set(entry["errors"][0])
    assert err == ""


def test_an_unreadable_file_exits_2_with_a_one_line_reason_and_the_others_still_import(tmp_path):
    junk = tmp_path / "photo.xlsx"
    junk.write_bytes(b"not a zip at all")
    good = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row()])

    code, out, err = run(str(junk), str(good), "--json")

    assert code == 2
    assert err.count("\n") == 1 and err.startswith("photo.xlsx: 无法读取的 xlsx 工作簿")
    assert json.loads(out)["files"][1]["orders_created"] == 1
    assert Order.objects.count() == 1


def test_without_json_it_prints_a_readable_summary(tmp_path):
    good = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row(), order_row(订单编号="1E+18")])

    code, out, _ = run(str(good))

    assert code == 0
    assert "ExportOrderList.csv [订单报表] 已导入" in out and "第 3 行 订单编号" in out


def test_it_refreshes_segmentation_for_the_imported_customers_unless_told_not_to(tmp_path):
    first = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row(订单编号="1001")])
    second = write_export(tmp_path / "ExportOrderList2.csv", ORDER_HEADER, [
        order_row(订单编号="1002", 买家会员名="tb_bob", 买家支付宝账号="bob@example.com", 联系手机="'13900005678")
    ])

    code, out, _ = run(str(first))
    skipped, _, _ = run(str(second), "--no-segmentation")

    assert code == 0 and skipped == 0
    assert "已为 1 位客户刷新分层" in out
    assert Order.objects.get(order_no="1001").customer.current_score.lifecycle_stage != ""
    assert Order.objects.get(order_no="1002").customer.current_score.lifecycle_stage == ""
