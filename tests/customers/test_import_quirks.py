"""Every quirk of real seller-centre exports (see docs/taobao-exports.md), one test each."""

from decimal import Decimal

import pytest

from customers.importing import import_files
from customers.models import Customer, Order, OrderLine, OrderStatus, Refund

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


def import_orders(tmp_path, rows, **options) -> dict:
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows, **options)
    return import_files([path])["files"][0]


def test_it_rejects_a_scientific_notation_order_id_with_its_line_and_column(tmp_path):
    summary = import_orders(tmp_path, [order_row(), order_row(订单编号="3.00325E+18")])

    assert summary["errors"] == [
        {
            "file": "ExportOrderList.csv",
            "line": 3,
            "column": "订单编号",
            "value": "3.00325E+18",
            "reason": "the id is in scientific notation (mangled by Excel) and cannot be recovered",
        }
    ]
    assert list(Order.objects.values_list("order_no", flat=True)) == ["3003249668502739001"]


def test_a_bare_long_order_number_is_kept_digit_for_digit(tmp_path):
    import_orders(tmp_path, [order_row(订单编号="3003249668502739999")])

    assert Order.objects.get().order_no == "3003249668502739999"


def test_an_invalid_date_is_a_row_error(tmp_path):
    summary = import_orders(tmp_path, [order_row(订单创建时间="2024-02-30 25:61:00")])

    [error] = summary["errors"]
    assert (error["line"], error["column"], error["value"]) == (2, "订单创建时间", "2024-02-30 25:61:00")
    assert not Order.objects.exists()


def test_a_negative_paid_amount_is_a_row_error(tmp_path):
    summary = import_orders(tmp_path, [order_row(买家实际支付金额="-12.50")])

    [error] = summary["errors"]
    assert (error["column"], error["value"]) == ("买家实际支付金额", "-12.50")
    assert not Order.objects.exists()


def test_blank_money_is_stored_as_unknown_not_zero(tmp_path):
    import_orders(tmp_path, [order_row(总金额="", 买家实际支付金额="")])

    order = Order.objects.get()
    assert order.total_amount is None and order.paid_amount is None
    assert order.shipping_fee == Decimal("8.00")


def test_money_with_a_yuan_suffix_is_read_exactly(tmp_path):
    import_orders(tmp_path, [order_row(买家实际支付金额="598.00元", 总金额="0.1")])

    order = Order.objects.get()
    assert order.paid_amount == Decimal("598.00") and order.total_amount == Decimal("0.10")


def test_masked_buyer_values_are_kept_as_masked(tmp_path):
    import_orders(tmp_path, [order_row(买家会员名="t**2", 收货人姓名="张**", 联系手机="138****1234")])

    order = Order.objects.get()
    assert (order.buyer_nick, order.receiver_name, order.receiver_phone) == ("t**2", "张**", "138****1234")
    assert order.customer.identity_key.startswith("fb:")
    assert order.customer.phone_is_masked and order.customer.phone_tail == "1234"


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example","点击")', "=cmd|' /C calc'!A0", "+86-13800001111", "-2+3", "@SUM(1+1)"],
)
def test_formula_like_text_is_stored_verbatim(tmp_path, text):
    import_orders(tmp_path, [order_row(买家留言=text)])

    assert Order.objects.get().buyer_message == text


def test_the_2017_line_report_trailing_comma_is_not_an_extra_column(tmp_path):
    path = write_export(
        tmp_path / "ExportOrderDetailList.csv",
        LINE_HEADER_2017,
        [line_row(), line_row(标题="第二件", 商家编码="X-2")],
        trailing_comma=True,
    )

    summary = import_files([path])["files"][0]

    assert summary["errors"] == [] and summary["lines_created"] == 2
    assert sorted(OrderLine.objects.values_list("line_key", flat=True)) == [
        "3003249668502739001:1",
        "3003249668502739001:2",
    ]


def test_a_row_with_more_fields_than_the_header_is_a_row_error(tmp_path):
    row = ",".join(['"3003249668502739002"', '"x"', '"1.00"', '"1"'] + ['""'] * 6 + ['"surplus"'])
    path = write_export(tmp_path / "ExportOrderDetailList.csv", LINE_HEADER_2017, [line_row(), row])

    summary = import_files([path])["files"][0]

    assert [(e["line"], e["reason"]) for e in summary["errors"]] == [(3, "the row has 11 fields, the header has 10")]
    assert summary["lines_created"] == 1


def test_blank_and_comma_only_lines_are_skipped_and_counted(tmp_path):
    summary = import_orders(tmp_path, [order_row(), "", "," * 45, order_row(订单编号='="3003249668502739002"')])

    assert summary["skipped"] == 2 and summary["errors"] == [] and summary["orders_created"] == 2


def test_header_names_with_trailing_spaces_are_found(tmp_path):
    import_orders(tmp_path, [order_row(**{"收货地址 ": "上海 上海市 浦东新区 文三路1号(200120)", "订单付款时间 ": ""})])

    order = Order.objects.get()
    assert (order.province, order.city, order.district, order.postcode) == ("上海", "上海市", "浦东新区", "200120")
    assert order.paid_at is None


@pytest.mark.parametrize("empty", ["", '=""', "null", "  \t"])
def test_every_spelling_of_empty_is_empty(tmp_path, empty):
    import_orders(tmp_path, [order_row(物流公司=empty, 买家实际支付金额=empty, 订单付款时间=empty)])

    order = Order.objects.get()
    assert order.logistics_company == "" and order.paid_amount is None


def test_values_are_stripped_of_spaces_and_tabs(tmp_path):
    import_orders(tmp_path, [order_row(买家会员名=" tb5046277004\t")])

    assert Customer.objects.get().identity_key == "nick:tb5046277004"


def test_excel_resaved_dates_and_the_zero_date_are_understood(tmp_path):
    import_orders(tmp_path, [order_row(订单创建时间="2024/1/30 16:10", **{"订单付款时间 ": "0000-00-00 00:00:00"})])

    order = Order.objects.get()
    assert order.ordered_at.isoformat() == "2024-01-30T08:10:00+00:00"  # 16:10 in Shanghai
    assert order.paid_at is None


def test_invalid_bytes_make_the_file_unreadable_with_the_line_number(tmp_path):
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row(), order_row()])
    data = path.read_bytes().split(b"\r\n")
    data[2] = data[2].replace("王小丫".encode("gb18030"), b"\xff\xfe\xfd")
    path.write_bytes(b"\r\n".join(data))

    summary = import_files([path])

    [entry] = summary["files"]
    assert entry["status"] == "unreadable"
    assert "invalid GB18030 bytes at line 3" in entry["reason"]
    assert summary["status"] == "failed" and not Order.objects.exists()


def test_a_utf8_file_without_bom_is_read(tmp_path):
    summary = import_orders(tmp_path, [order_row(收货人姓名="欧阳飞")], encoding="utf-8")

    assert summary["orders_created"] == 1 and Order.objects.get().receiver_name == "欧阳飞"


def test_a_file_that_is_no_export_is_unreadable(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("name,age\r\nalice,3\r\n")

    [entry] = import_files([path])["files"]

    assert entry["status"] == "unreadable" and "not a Taobao" in entry["reason"]


def test_a_quoted_value_with_newlines_keeps_later_line_numbers_right(tmp_path):
    rows = [order_row(买家留言='第一行\r\n第二行, 含"引号"'), order_row(订单编号='="1"', 订单创建时间="bad")]

    summary = import_orders(tmp_path, rows)

    assert [(e["line"], e["column"]) for e in summary["errors"]] == [(4, "订单创建时间")]
    assert Order.objects.get().buyer_message == '第一行\n第二行, 含"引号"'


def test_columns_are_found_by_name_in_any_order_and_unknown_columns_are_ignored(tmp_path):
    header = ["新列", "订单状态", "订单创建时间", "收货地址 ", "买家实际支付金额", "买家会员名", "订单编号"]
    row = order_row(新列="whatever")
    path = write_export(tmp_path / "custom.csv", header, [row])

    [entry] = import_files([path])["files"]

    assert entry["kind"] == "orders" and entry["orders_created"] == 1
    assert Order.objects.get().paid_amount == Decimal("108.00")


def test_phone_apostrophes_are_dropped_and_virtual_numbers_are_flagged(tmp_path):
    rows = [
        order_row(),
        order_row(订单编号='="3003249668502739002"', 买家会员名="tb_bob", 联系手机="17024562418-2418"),
    ]

    import_orders(tmp_path, rows)

    alice = Customer.objects.get(identity_key="nick:tb_alice")
    assert alice.phone == "13800001234" and alice.phone_tail == "1234" and not alice.phone_is_virtual
    bob = Customer.objects.get(identity_key="nick:tb_bob")
    assert bob.phone_is_virtual and bob.phone_tail == ""


def test_an_address_without_postcode_keeps_the_postcode_blank(tmp_path):
    import_orders(tmp_path, [order_row(**{"收货地址 ": "河南省 济源市 济源市 新华街249号(000000)"})])

    customer = Customer.objects.get()
    assert (customer.province, customer.city, customer.address, customer.postcode) == (
        "河南省",
        "济源市",
        "新华街249号",
        "",
    )


def test_a_later_export_advances_the_status_and_an_older_one_does_not_regress_it(tmp_path):
    older = write_export(tmp_path / "older.csv", ORDER_HEADER, [order_row()])
    newer = write_export(tmp_path / "newer.csv", ORDER_HEADER, [order_row(订单状态="交易成功", 物流公司="中通快递")])
    import_files([older])

    [later] = import_files([newer])["files"]
    [stale] = import_files([older])["files"]

    order = Order.objects.get()
    assert order.status == OrderStatus.COMPLETED and order.logistics_company == "中通快递"
    assert later["orders_updated"] == 1
    assert stale["orders_updated"] == 0 and stale["orders_stale"] == 1
    change = order.customer.timeline.get(kind="order_status_changed")
    assert change.data["changes"] == [["3003249668502739001", "paid", "completed"]]


def test_masked_buyers_that_look_alike_are_reported_not_merged(tmp_path):
    rows = [
        order_row(买家会员名="t**1", 收货人姓名="张*", 联系手机="138****1234"),
        order_row(订单编号='="3003249668502739002"', 买家会员名="t**1", 收货人姓名="李*", 联系手机="139****5678"),
    ]

    summary = import_orders(tmp_path, rows)

    assert Customer.objects.count() == 2
    assert summary["ambiguous_count"] == 2
    assert {a["order_no"] for a in summary["ambiguous_customers"]} == {"3003249668502739001", "3003249668502739002"}


def test_a_masked_reexport_keeps_the_unmasked_buyer_details_already_imported(tmp_path):
    clear = write_export(tmp_path / "clear.csv", ORDER_HEADER, [order_row()])
    masked = write_export(
        tmp_path / "masked.csv", ORDER_HEADER, [order_row(买家会员名="t**e", 收货人姓名="王**", 联系手机="138****1234")]
    )
    import_files([clear])

    [entry] = import_files([masked])["files"]

    order = Order.objects.get()
    assert (order.buyer_nick, order.receiver_name) == ("tb_alice", "王小丫")
    assert order.customer.identity_key == "nick:tb_alice" and Customer.objects.count() == 1
    assert entry["orders_updated"] == 0 and entry["customers_created"] == 0


def test_refund_rows_import_with_their_flags_and_dates(tmp_path):
    path = write_export(tmp_path / "RefundExport.csv", REFUND_HEADER, [refund_row()])

    [entry] = import_files([path])["files"]

    refund = Refund.objects.get()
    assert entry["kind"] == "refunds" and entry["refunds_created"] == 1 and entry["orphans"] == 1
    assert refund.needs_return is True and refund.refund_amount == Decimal("32.00")
    assert refund.applied_at.isoformat() == "2024-03-10T01:00:00+00:00"


def test_a_header_without_rows_imports_nothing_and_an_empty_file_is_unreadable(tmp_path):
    header_only = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    first, second = import_files([header_only, empty])["files"]

    assert first["status"] == "ok" and first["rows"] == 0
    assert second["status"] == "unreadable" and second["reason"] == "the file is empty"


def test_an_address_seen_in_several_imports_keeps_its_first_and_last_sighting_in_any_order(tmp_path):
    march = write_export(tmp_path / "march.csv", ORDER_HEADER, [order_row(订单创建时间="2024-03-01 10:00:00")])
    january = write_export(
        tmp_path / "january.csv",
        ORDER_HEADER,
        [order_row(订单编号='="3003249668502739002"', 订单创建时间="2024-01-05 10:00:00")],
    )
    import_files([march])

    import_files([january])

    [address] = Customer.objects.get().addresses.all()
    assert address.first_seen_at.date().isoformat() == "2024-01-05"
    assert address.last_seen_at.date().isoformat() == "2024-03-01"


@pytest.mark.parametrize(
    "text, status",
    [
        ("等待买家付款", OrderStatus.UNPAID),
        ("买家已付款,等待卖家发货", OrderStatus.PAID),  # an ASCII comma, as re-saved files have it
        ("卖家已发货，等待买家确认收货并付款", OrderStatus.SHIPPED),
        ("买家已签收", OrderStatus.SHIPPED),
        ("交易成功", OrderStatus.COMPLETED),
        ("交易被淘宝关闭", OrderStatus.CLOSED),
        ("某个新状态", OrderStatus.OTHER),
    ],
)
def test_statuses_are_normalised_and_the_exported_text_is_kept(tmp_path, text, status):
    import_orders(tmp_path, [order_row(订单状态=text)])

    order = Order.objects.get()
    assert (order.status, order.status_text) == (status, text)


def test_a_tracking_number_loses_its_no_prefix(tmp_path):
    import_orders(tmp_path, [order_row(**{"物流单号 ": "No:7933002893961"})])

    assert Order.objects.get().tracking_no == "7933002893961"


def test_reimporting_an_unchanged_file_keeps_contact_details_edited_by_hand(tmp_path):
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row()])
    import_files([path])
    Customer.objects.update(phone="13912345678", phone_tail="5678")

    [entry] = import_files([path])["files"]

    assert Customer.objects.get().phone == "13912345678"
    assert entry["customers_updated"] == 0 and entry["orders_unchanged"] == 1
