"""Import reasons stay English in the summary (the --json and API contract) and read in Chinese on the page."""

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from customers.importing import import_files
from customers.importing.messages import is_listed, reason_display

from .importing_fixtures import LINE_HEADER_2017, ORDER_HEADER, line_row, order_row, write_export

pytestmark = pytest.mark.django_db


def reasons_of(summary: dict) -> list[str]:
    reasons = []
    for entry in summary["files"]:
        reasons += [entry["reason"]] if entry["reason"] else []
        reasons += [e["reason"] for key in ("errors", "warnings", "ambiguous_customers") for e in entry[key]]
    return reasons


def test_every_reason_the_importer_gives_for_bad_rows_has_a_translation(tmp_path):
    orders = write_export(
        tmp_path / "ExportOrderList.csv",
        ORDER_HEADER,
        [
            order_row(订单编号="3.00325E+18"),
            order_row(订单编号="30032A"),
            order_row(订单编号='="2"', 订单创建时间="2024-02-30 25:61:00"),
            order_row(订单编号='="3"', 买家实际支付金额="-12.50"),
            order_row(订单编号='="4"', 总金额="十二元"),
            order_row(订单编号='="5"', 宝贝总数量="1.5"),
            order_row(订单编号='="6"', 订单关闭原因="长" * 101),
            order_row(订单编号='="7"', 订单状态="交易成功"),
            order_row(订单编号='="7"', 订单状态="交易关闭"),
            order_row(订单编号='="8"', 买家会员名="", 收货人姓名="", 联系手机="", **{"联系电话 ": ""}),
            order_row(订单编号=""),
        ],
    )
    surplus = ",".join(['"3003249668502739002"', '"x"', '"1.00"', '"1"'] + ['""'] * 6 + ['"surplus"'])
    lines = write_export(tmp_path / "ExportOrderDetailList.csv", LINE_HEADER_2017, [line_row(), line_row(), surplus])
    unreadable = tmp_path / "notes.csv"
    unreadable.write_text("name,age\r\nalice,3\r\n")

    reasons = reasons_of(import_files([orders, lines, unreadable, tmp_path / "missing.csv"]))

    assert len(set(reasons)) >= 10
    assert [r for r in reasons if not is_listed(r)] == []


def test_a_reason_is_shown_in_the_active_language_with_its_values():
    reason = "order 3003 appears again with different content (first at line 7); kept: completed"

    with translation.override("zh-hans"):
        assert reason_display(reason) == "订单 3003 再次出现且内容不同（首次在第 7 行）；保留：交易成功"
        assert reason_display("longer than 100 characters") == "超过 100 个字符"
    with translation.override("en"):
        assert reason_display(reason) == reason.replace("kept: completed", "kept: Completed")


def test_an_unknown_reason_is_shown_as_it_is():
    with translation.override("zh-hans"):
        assert reason_display("something new went wrong") == "something new went wrong"


def test_the_result_page_shows_the_reasons_in_chinese(tmp_path):
    reason = "not a valid id (digits only)"
    error = {"file": "a.csv", "line": 3, "column": "订单编号", "value": "3.1E+18", "reason": reason}
    entry = {"file": "a.csv", "kind": "orders", "status": "unreadable", "reason": "the file is empty", "rows": 1,
             "error_count": 1, "errors": [error], "warnings": [], "ambiguous_customers": []}

    class Job:
        result = {"files": [entry]}

    with translation.override("zh-hans"):
        html = render_to_string("crm/job_results/import_orders.html", {"job": Job()})

    assert "不是有效的编号（只能是数字）" in html and "文件是空的" in html
    assert "digits only" not in html
