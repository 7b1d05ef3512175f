"""The set-based import (customers/importing/staged/staging.py, PostgreSQL) gives what the row-by-row import gives.

Each test imports the same files both ways into an empty database and compares every table the importer writes
and the whole summary. The files hold every quirk the row-by-row rules know (docs/taobao-exports.md), so a rule that
one path applies differently from the other shows up here as a difference in some row."""

import csv
import io
import json
import logging
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from customers.importing import import_files
from customers.models import Order, OrderLine

from .importing_fixtures import (
    LINE_HEADER_2017,
    ORDER_HEADER,
    SAMPLES,
    export_text,
    line_row,
    order_row,
    write_export,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROW_BY_ROW = 1 << 62  # HUIKE_IMPORT_STAGE_MIN_BYTES that no file reaches


def _order(n: int, **changes) -> dict:
    return order_row(**{"订单编号": f'="{3003249668502700000 + n}"', **changes})


def _unquoted_formula_id(n: int, **changes) -> str:
    """A row whose 订单编号 is written the way the seller centre writes it: `="…"`, not quoted."""
    row = export_text(ORDER_HEADER, [_order(n, **changes)]).split("\r\n")[1]
    return row.replace(f'"=""{3003249668502700000 + n}"""', f'="{3003249668502700000 + n}"')


def quirky_orders() -> list:
    """One row per quirk, and a few rows that must fail, in the 2017 layout."""
    return [
        _order(1),
        _order(2, 买家会员名="t**2", 买家支付宝账号="t**@qq.com", 收货人姓名="王**", 联系手机="138****1234"),
        _order(3, 买家会员名="t**2", 买家支付宝账号="", 收货人姓名="李**", 联系手机="17024562418-2418"),
        _order(4, 买家会员名="", 收货人姓名="", 联系手机="", 买家支付宝账号=""),
        _order(5, 买家实际支付金额="598.00元", 总金额="0.1", 买家应付邮费=" 8 "),
        _order(6, 买家实际支付金额="-12.50"),
        _order(7, 订单创建时间="2024-02-30 10:00:00"),
        _order(8, 订单创建时间="2024-02-29 10:00:00", **{"订单付款时间 ": "2023-02-29 10:00:00"}),
        _order(9, 订单创建时间="2024/3/5 9:07", **{"订单付款时间 ": "0000-00-00 00:00:00"}),
        _order(10, 订单编号="3.00325E+18"),
        _order(11, 买家留言="=HYPERLINK(\"x\")", 订单备注="+86 138", 收货人姓名="  \t赵六\u3000"),
        _order(12, 买家留言="null", 物流公司="NULL", **{"物流单号 ": "No: YT123"}),
        _order(13, 联系手机="'  13900001111", **{"收货地址 ": "广东省 深圳市 南山区  科技园(000000)"}),
        _order(14, 订单状态="交易成功", **{"收货地址 ": "北京 北京市"}),
        _order(15, 订单状态="卖家已发货,等待买家确认"),
        _order(15, 订单状态="交易成功"),  # the same order again, more advanced: reported, this one wins
        _order(15, 订单状态="交易成功"),  # and once more, identical: a duplicate
        _order(16, 买家留言="第一行\r\n第二行", **{"宝贝种类 ": "x"}),
        _order(17, 订单状态="", 宝贝总数量="1234567890"),
        _order(18, 买家会员名="tb_bob", 订单创建时间="2024-03-02 10:00:00", 收货人姓名="鲍勃"),
        _order(19, 买家会员名="tb_bob", 订单创建时间="2024-03-09 10:00:00", 收货人姓名="鲍勃二", 订单状态="交易关闭"),
        _order(20, 订单创建时间="2024-04-31 10:00:00"),
        _order(21, 订单创建时间="2024-12-31 23:59:59", 买家应付邮费="012.5"),
        ",".join([""] * len(ORDER_HEADER)),  # a comma-only line
        "",  # a blank line
        _unquoted_formula_id(22, 买家会员名="tb_carol"),
    ]


def _snapshot() -> dict:
    """Every table the importer writes, as comparable rows (ids replaced by natural keys)."""
    queries = {
        "customers": """
            SELECT identity_key, buyer_nick, display_nick, real_name, phone, phone_tail, phone_is_masked,
                   phone_is_virtual, phone_virtual_expires_at, email, wangwang, province, city, district, address,
                   postcode, source, order_count, paid_order_count, total_paid, avg_order_value, refund_total,
                   return_count, first_order_at, last_order_at, first_paid_at, last_paid_at
              FROM customers_customer ORDER BY identity_key""",
        "orders": """
            SELECT o.order_no, c.identity_key, o.buyer_nick, o.status, o.status_text, o.total_amount, o.paid_amount,
                   o.shipping_fee, o.refund_amount, o.buyer_message, o.seller_memo, o.close_reason, o.receiver_name,
                   o.receiver_phone, o.receiver_address, o.province, o.city, o.district, o.postcode,
                   o.logistics_company, o.tracking_no, o.item_titles, o.item_kinds, o.item_quantity, o.shop_name,
                   o.ordered_at, o.paid_at, o.shipped_at, o.received_at, o.content_hash
              FROM customers_order o LEFT JOIN customers_customer c ON c.id = o.customer_id ORDER BY o.order_no""",
        "lines": """
            SELECT l.line_key, l.order_no, o.order_no AS linked, p.key, l.title, l.merchant_code, l.sku_properties,
                   l.package_info, l.external_code, l.list_price, l.quantity, l.paid_amount, l.status_text,
                   l.refund_status, l.refund_amount, l.remark, l.content_hash
              FROM customers_orderline l LEFT JOIN customers_order o ON o.id = l.order_id
              LEFT JOIN customers_product p ON p.id = l.product_id ORDER BY l.line_key""",
        "products": "SELECT key, merchant_code, title FROM customers_product ORDER BY key",
        "addresses": """
            SELECT c.identity_key, a.fingerprint, a.receiver_name, a.phone, a.province, a.city, a.district,
                   a.detail, a.postcode, a.first_seen_at, a.last_seen_at
              FROM customers_customeraddress a JOIN customers_customer c ON c.id = a.customer_id
             ORDER BY 1, 2""",
        "timeline": """
            SELECT c.identity_key, t.kind, t.summary, t.data - 'import' AS data
              FROM customers_timelineevent t JOIN customers_customer c ON c.id = t.customer_id ORDER BY 1, 2""",
    }
    with connection.cursor() as cursor:
        out = {}
        for name, query in queries.items():
            cursor.execute(query)
            out[name] = [tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row)
                         for row in cursor.fetchall()]
        return out


def _emptied() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses while deferred checks are pending
        cursor.execute(
            "TRUNCATE customers_customer, customers_order, customers_orderline, customers_product, "
            "customers_customeraddress, customers_timelineevent, customers_refund CASCADE"
        )


def _comparable(summary: dict) -> dict:
    files = []
    for entry in summary["files"]:
        entry = dict(entry)
        for listed in ("errors", "warnings", "ambiguous_customers"):
            entry[listed] = sorted(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in entry[listed])
        files.append(entry)
    return {"status": summary["status"], "files": files, "customers": len(summary["customer_ids"])}


@contextmanager
def _logged(name: str):
    """The messages logger `name` logs inside the block (at INFO and above)."""
    messages: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _both_ways(settings, paths: list, *, staged: int | None = None) -> tuple[tuple, tuple]:
    """(row by row, staged): each a summary and a snapshot, both imports into an empty database. `staged`: how
    many of the files must really have taken the set-based path (default: all)."""
    results = []
    for min_bytes in (ROW_BY_ROW, 0):
        settings.HUIKE_IMPORT_STAGE_MIN_BYTES = min_bytes
        _emptied()
        with _logged("customers.importing.staged") as messages:
            summary = import_files(paths)
        results.append((_comparable(summary), _snapshot()))
    took = [m for m in messages if m.startswith("staged ")]
    assert len(took) == (len(paths) if staged is None else staged), took
    return results[0], results[1]


def _assert_same(row_by_row, staged) -> None:
    (summary_a, tables_a), (summary_b, tables_b) = row_by_row, staged
    for name in tables_a:
        assert tables_b[name] == tables_a[name], name
    assert summary_b == summary_a


def _without_broken_rows(source: Path, target: Path) -> Path:
    """The sample with its rows of the wrong width left out (COPY refuses a file that has one)."""
    text = source.read_bytes().decode("gb18030")
    records = list(csv.reader(io.StringIO(text, newline="")))
    width = len(records[0])
    kept = [r for r in records if len(r) in (0, width, width + 1)]
    assert len(kept) < len(records)  # there was one to leave out
    out = io.StringIO(newline="")
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(kept)
    target.write_bytes(out.getvalue().encode("gb18030"))
    return target


def _sample_pair(tmp_path, layout: str) -> tuple[Path, Path]:
    """The sample 订单报表 (without its rows of the wrong width) and 宝贝报表 of `layout`."""
    folder = SAMPLES / layout
    [orders] = folder.glob("ExportOrderList*.csv")
    [lines] = folder.glob("ExportOrderDetailList*.csv")
    return _without_broken_rows(orders, tmp_path / orders.name), lines


@pytest.mark.parametrize("layout", ["v2017", "v2023"])
def test_the_sample_exports_import_the_same_both_ways(settings, tmp_path, layout):
    orders, lines = _sample_pair(tmp_path, layout)

    row_by_row, staged = _both_ways(settings, [str(orders), str(lines)])

    _assert_same(row_by_row, staged)
    [orders] = [entry for entry in staged[0]["files"] if entry["kind"] == "orders"]
    assert orders["orders_created"] > 0


def _quirky_pair(tmp_path, lines: list | None = None) -> list[str]:
    """The quirky orders, and lines for some of them (default: a few, one an orphan, one bad), as two files."""
    orders = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, quirky_orders())
    lines = lines or [
        line_row(订单编号='="3003249668502700001"'),
        line_row(订单编号='="3003249668502700001"', 标题="第二件", 商家编码=""),
        line_row(订单编号='="3003249668502799999"'),  # an orphan
        line_row(订单编号='="3003249668502700018"', 购买数量="x"),
    ]
    lines = write_export(tmp_path / "ExportOrderDetailList.csv", LINE_HEADER_2017, lines, trailing_comma=True)
    return [str(orders), str(lines)]


def test_every_quirk_imports_the_same_both_ways(settings, tmp_path):
    paths = _quirky_pair(
        tmp_path,
        [
            line_row(订单编号='="3003249668502700001"'),
            line_row(订单编号='="3003249668502700001"', 标题="第二件", 商家编码=""),
            line_row(订单编号='="3003249668502700001"', 标题="第二件", 商家编码="", 价格="33.00"),
            line_row(订单编号='="3003249668502799999"'),  # an orphan: its order is not in the file
            line_row(订单编号='="3003249668502700018"', 购买数量="x"),
            line_row(订单编号='="3003249668502700019"', 标题="", 商家编码=""),
        ],
    )

    row_by_row, staged = _both_ways(settings, paths)

    _assert_same(row_by_row, staged)
    [order_summary, line_summary] = staged[0]["files"]
    # the quirks really are in there: errors, warnings, a duplicate, skipped lines, an orphan
    assert order_summary["error_count"] >= 8 and order_summary["warning_count"] >= 2
    assert order_summary["duplicates"] == 1 and order_summary["skipped"] == 2
    assert line_summary["orphans"] == 1


def test_a_product_named_by_several_lines_takes_the_title_of_its_first_line_key_both_ways(settings, tmp_path):
    paths = _quirky_pair(
        tmp_path,
        [  # file order is not line-key order: ...05:1 comes first in the file, ...02:1 first by key
            line_row(订单编号='="3003249668502700005"', 标题="新标题", 商家编码="SKU-T"),
            line_row(订单编号='="3003249668502700002"', 标题="旧标题", 商家编码="SKU-T"),
            line_row(订单编号='="3003249668502700003"', 标题="中标题", 商家编码="SKU-T"),
        ],
    )

    row_by_row, staged = _both_ways(settings, paths)

    _assert_same(row_by_row, staged)
    assert ("SKU-T", "SKU-T", "旧标题") in staged[1]["products"]


@pytest.mark.parametrize(
    "odd_row",
    [
        '"3003249668502700002","tb_x"',  # fewer fields than the header: COPY refuses the file
        # a formula not in quotes: PostgreSQL's CSV reader would drop its quotes, Python's keeps them
        _unquoted_formula_id(2, 买家留言="HYPERLINK").replace('"HYPERLINK"', '=HYPERLINK("y")'),
    ],
)
def test_a_file_copy_cannot_take_is_read_row_by_row_with_the_same_result(settings, tmp_path, odd_row):
    rows = [_order(1), odd_row, _order(3)]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)

    row_by_row, staged = _both_ways(settings, [str(path)], staged=0)

    _assert_same(row_by_row, staged)
    assert staged[0]["files"][0]["orders_created"] >= 2


def test_reimporting_staged_changes_nothing_and_counts_everything_unchanged(settings, tmp_path):
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    orders = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, quirky_orders())
    first = import_files([str(orders)])["files"][0]
    before = _snapshot()

    again = import_files([str(orders)])["files"][0]

    assert _snapshot()["orders"] == before["orders"] and _snapshot()["customers"] == before["customers"]
    assert again["orders_created"] == again["orders_updated"] == again["customers_created"] == 0
    assert again["orders_unchanged"] == first["orders_created"]


def test_work_tables_are_dropped_after_the_import(settings, tmp_path):
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    import_files([str(write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, quirky_orders()))])

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0


def test_work_tables_of_an_import_that_died_are_dropped_by_the_next_one(settings, tmp_path):
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    with connection.cursor() as cursor:  # as a killed import (backend 2147483000, long gone) leaves them
        cursor.execute("CREATE UNLOGGED TABLE huike_import_p2147483000_job7_raw (line integer)")
        cursor.execute("SELECT pg_backend_pid()")
        mine = f"huike_import_p{cursor.fetchone()[0]}_running_raw"
        cursor.execute(f"CREATE UNLOGGED TABLE {mine} (line integer)")  # as one still running here

    import_files([str(write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [_order(1)]))])

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'huike_import_%' ORDER BY 1")
        assert [name for (name,) in cursor.fetchall()] == [mine]


def test_a_reimport_skips_records_imported_as_they_are_and_cleans_only_the_changed_ones(settings, tmp_path):
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    rows = [_order(n, 买家会员名=f"tb_{n}") for n in range(1, 6)]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)
    import_files([str(path)])
    # Then a later export: order 3 has shipped, the rest are byte for byte the same
    rows[2] = _order(3, 买家会员名="tb_3", 订单状态="卖家已发货，等待买家确认")
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)

    with _logged("customers.importing.staged") as messages:
        [again] = import_files([str(path)])["files"]

    assert (again["rows"], again["orders_unchanged"], again["orders_updated"]) == (5, 4, 1)
    assert Order.objects.get(order_no="3003249668502700003").status == "shipped"
    assert "ExportOrderList.csv: 4 records as they were imported before: unchanged" in messages
    # the updated order now carries the hash of its new record: a third import skips all five
    with _logged("customers.importing.staged") as messages:
        [third] = import_files([str(path)])["files"]
    assert (third["orders_unchanged"], third["orders_updated"]) == (5, 0)
    assert "ExportOrderList.csv: 5 records as they were imported before: unchanged" in messages


def _reimported_both_ways(settings, first: Path, then: Path) -> tuple[tuple, tuple, list[str]]:
    """(row by row, staged, the staged path's messages): `first` imported into an empty database, then `then`."""
    results = []
    for min_bytes in (ROW_BY_ROW, 0):
        settings.HUIKE_IMPORT_STAGE_MIN_BYTES = min_bytes
        _emptied()
        import_files([str(first)])
        with _logged("customers.importing.staged") as messages:
            summary = import_files([str(then)])
        results.append((_comparable(summary), _snapshot()))
    return results[0], results[1], messages


def _later_export(source: Path, target: Path, old: str, new: str, *, records: int) -> Path:
    """`source` as a later export of the same shop: in its first `records` lines holding `old`, `new` instead;
    every other byte as it was (so those records are found as they were imported)."""
    text, changed = [], 0
    for line in source.read_bytes().splitlines(keepends=True):
        if changed < records and old.encode("gb18030") in line:
            line = line.replace(old.encode("gb18030"), new.encode("gb18030"), 1)
            changed += 1
        text.append(line)
    assert changed == records
    target.write_bytes(b"".join(text))
    return target


@pytest.mark.django_db(transaction=True)  # outside a transaction, as the job runs: the 宝贝报表 is prepared ahead
@pytest.mark.parametrize("layout", ["v2017", "v2023"])
def test_the_sample_exports_reimported_later_import_the_same_both_ways(settings, tmp_path, layout):
    orders, lines = _sample_pair(tmp_path, layout)
    later = tmp_path / "later"
    later.mkdir()
    later_orders = _later_export(orders, later / orders.name, "等待买家付款", "买家已付款，等待卖家发货", records=3)
    later_lines = _later_export(lines, later / lines.name, "等待买家付款", "买家已付款，等待卖家发货", records=3)

    results = []
    for min_bytes in (ROW_BY_ROW, 0):
        settings.HUIKE_IMPORT_STAGE_MIN_BYTES = min_bytes
        _emptied()
        import_files([str(orders), str(lines)])
        with _logged("customers.importing") as messages:  # the staged and the ahead modules' messages
            summary = import_files([str(later_orders), str(later_lines)])
        results.append((_comparable(summary), _snapshot()))

    _assert_same(*results)
    assert f"preparing {lines.name} ahead, on a second connection" in messages
    skipped = [m for m in messages if "as they were imported before" in m]
    assert skipped and all(not m.endswith(": 0 records as they were imported before: unchanged") for m in skipped)
    [entry] = [f for f in results[1][0]["files"] if f["kind"] == "orders"]
    assert entry["orders_updated"] >= 1


def test_a_reimported_order_given_twice_is_de_duplicated_with_its_twin_not_skipped(settings, tmp_path):
    rows = [_order(n, 买家会员名=f"tb_{n}") for n in range(1, 5)]
    # blank lines (counted as skipped by the first of the two passes) and a record over two lines
    rows[1:1] = ["", ",".join([""] * len(ORDER_HEADER)), _order(5, 买家会员名="tb_5", 买家留言="第一行\r\n第二行")]
    first = write_export(tmp_path / "ExportOrderList1.csv", ORDER_HEADER, rows)
    # the later export has order 3 as it was imported, and again, shipped
    later = [*rows, _order(3, 买家会员名="tb_3", 订单状态="卖家已发货，等待买家确认")]
    then = write_export(tmp_path / "ExportOrderList2.csv", ORDER_HEADER, later)

    row_by_row, staged, messages = _reimported_both_ways(settings, first, then)

    _assert_same(row_by_row, staged)
    assert "ExportOrderList2.csv: 4 records as they were imported before: unchanged" in messages
    assert Order.objects.get(order_no="3003249668502700003").status == "shipped"


def test_a_reimport_finds_the_records_imported_before_when_the_key_is_not_the_first_column(settings, tmp_path):
    header = ["主订单编号", "子订单编号", *[h for h in LINE_HEADER_2017 if h != "订单编号"]]
    rows = [
        dict(line_row(), 子订单编号=f'="30032496685027001{n:02d}"', 主订单编号=f'="30032496685027000{n:02d}"')
        for n in range(1, 5)
    ]
    first = write_export(tmp_path / "ExportOrderDetailList1.csv", header, rows)
    rows[2] = dict(rows[2], 价格="35.00")
    then = write_export(tmp_path / "ExportOrderDetailList2.csv", header, rows)

    row_by_row, staged, messages = _reimported_both_ways(settings, first, then)

    _assert_same(row_by_row, staged)
    assert "ExportOrderDetailList2.csv: 3 records as they were imported before: unchanged" in messages
    [entry] = staged[0]["files"]
    assert (entry["lines_unchanged"], entry["lines_updated"]) == (3, 1)


def test_a_key_cleaning_must_read_makes_a_reimport_clean_every_record_with_the_same_result(settings, tmp_path):
    rows = [_order(n, 买家会员名=f"tb_{n}") for n in range(1, 5)]
    first = write_export(tmp_path / "ExportOrderList1.csv", ORDER_HEADER, rows)
    # order 2 again with its id padded: cleaned, it is the same order, so its plain twin cannot be skipped
    later = [*rows, _order(2, 买家会员名="tb_2", 订单编号=" 3003249668502700002 ", 订单状态="交易成功")]
    then = write_export(tmp_path / "ExportOrderList2.csv", ORDER_HEADER, later)

    row_by_row, staged, messages = _reimported_both_ways(settings, first, then)

    _assert_same(row_by_row, staged)
    assert any("a key that is not plain digits" in m for m in messages), messages
    assert not any("as they were imported before" in m for m in messages)
    assert Order.objects.get(order_no="3003249668502700002").status == "completed"


def test_a_line_given_twice_imports_the_same_both_ways(settings, tmp_path):
    header = ["子订单编号", "主订单编号", *[h for h in LINE_HEADER_2017 if h != "订单编号"]]
    line = dict(line_row(), 子订单编号='="3003249668502700101"', 主订单编号='="3003249668502700001"')
    rows = [
        line,
        dict(line),  # the same line again: a duplicate
        dict(line, 价格="35.00"),  # and changed: reported, the later row wins
        dict(line, 子订单编号='="3003249668502700102"'),
    ]
    path = write_export(tmp_path / "ExportOrderDetailList.csv", header, rows)

    row_by_row, staged = _both_ways(settings, [str(path)])

    _assert_same(row_by_row, staged)
    [entry] = staged[0]["files"]
    # one warning for the changed repeat, one for each line whose order no 订单报表 of the run holds (orphans)
    assert (entry["duplicates"], entry["warning_count"], entry["lines_created"], entry["orphans"]) == (1, 3, 2, 2)


def test_a_failing_set_based_step_before_any_write_falls_back_to_row_by_row(settings, tmp_path, monkeypatch):
    from customers.importing.staged import orders as staged_orders

    def broken(staging):  # as a bug in one of the SQL steps would fail
        staging_execute("SELECT no_such_column FROM customers_order")

    staging_execute = staged_orders.execute
    monkeypatch.setattr(staged_orders, "_ready_create", broken)
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [_order(1), _order(2, 买家会员名="tb_2")])

    row_by_row, staged = _both_ways(settings, [str(path)], staged=1)

    _assert_same(row_by_row, staged)
    assert staged[0]["files"][0]["orders_created"] == 2


@pytest.mark.django_db(transaction=True)
def test_work_tables_of_an_import_that_died_are_dropped_once_when_a_pair_is_prepared_on_two_connections(
    settings, tmp_path, monkeypatch
):
    from customers.importing.staged import staging as staged

    # Given a killed import's work table, slow to drop (as a big one is), and a pair imported outside a
    # transaction (the lines file is prepared ahead, on a second connection)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    with connection.cursor() as cursor:
        cursor.execute("CREATE UNLOGGED TABLE huike_import_p2147483000_job7_raw (line integer)")
    drop = staged.raw_table_drop

    def slow_drop(name):
        if "p2147483000" in name:
            time.sleep(0.5)
        drop(name)

    monkeypatch.setattr(staged, "raw_table_drop", slow_drop)

    with _logged("customers.importing.staged") as messages:
        import_files(_quirky_pair(tmp_path))

    # Then it is gone, dropped and reported once, not by each connection
    dropped = [m for m in messages if "of an import that did not finish" in m]
    assert dropped == ["dropping the work table huike_import_p2147483000_job7_raw of an import that did not finish"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_lines_file_prepared_ahead_on_a_second_connection_imports_the_same(settings, tmp_path, monkeypatch):
    from customers.importing import runner

    # Given an orders and a lines file, imported outside any transaction (as the job and the command run)
    paths = _quirky_pair(tmp_path)
    prepare, write = runner.STAGED["lines"]
    backends = []

    def prepare_seen(staging):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backends.append(cursor.fetchone()[0])
        prepare(staging)

    monkeypatch.setitem(runner.STAGED, "lines", (prepare_seen, write))
    compared_on = _compare_backends(monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        importing = cursor.fetchone()[0]

    with _logged("customers.importing.staged.ahead") as messages:
        row_by_row, staged = _both_ways(settings, paths)

    # Then the lines file was prepared, and compared with the line table once the orders were written, on
    # another backend, and the result is the row-by-row one
    assert messages == ["preparing ExportOrderDetailList.csv ahead, on a second connection"]
    assert len(backends) == 1 and backends[0] != importing
    assert compared_on == backends
    _assert_same(row_by_row, staged)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0  # its work tables too are gone


def _compare_backends(monkeypatch) -> list[int]:
    """The backend pid of each comparison of a lines file with the line table."""
    from customers.importing.staged import lines as staged_lines

    compare = staged_lines._compare
    seen = []

    def compare_seen(staging, winners):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            seen.append(cursor.fetchone()[0])
        return compare(staging, winners)

    monkeypatch.setattr(staged_lines, "_compare", compare_seen)
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_lines_file_whose_comparison_ahead_fails_is_compared_when_written_with_the_same_result(
    settings, tmp_path, monkeypatch
):
    from customers.importing.staged import lines as staged_lines

    # Given a comparison ahead that fails once the lines' comparison table is made
    written_create = staged_lines._written_create
    calls = []

    def failing_once(staging, ready, compared):
        calls.append(compared)
        if len(calls) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        return written_create(staging, ready, compared)

    monkeypatch.setattr(staged_lines, "_written_create", failing_once)
    compared_on = _compare_backends(monkeypatch)

    with _logged("customers.importing.staged.ahead") as messages:
        row_by_row, staged = _both_ways(settings, _quirky_pair(tmp_path))

    # Then the writer compared it again itself, on the importing connection, with the row-by-row result
    assert any(m.startswith("comparing ExportOrderDetailList.csv ahead failed") for m in messages)
    assert len(compared_on) == 2 and compared_on[0] != compared_on[1] and len(calls) == 2
    _assert_same(row_by_row, staged)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_lines_file_whose_comparison_ahead_breaks_leaves_no_work_table(settings, tmp_path, monkeypatch):
    from customers.importing.staged import lines as staged_lines

    def broken(staging, winners):  # not a database error: nothing to fall back on
        raise RuntimeError("broken")

    monkeypatch.setattr(staged_lines, "_compare", broken)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0

    summary = import_files(_quirky_pair(tmp_path))

    # the file fails alone, saying why; the 订单报表 before it keeps its summary
    assert [f["status"] for f in summary["files"]] == ["ok", "failed"]
    assert summary["files"][1]["reason"] == "could not be imported: RuntimeError: broken"

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failing_step", ["orders", "figures"])
def test_a_lines_file_prepared_ahead_is_dropped_when_the_orders_file_fails(
    settings, tmp_path, monkeypatch, failing_step
):
    from customers.importing import runner
    from customers.importing.staged import orders as staged_orders

    def failing(*args, **kwargs):
        raise staged_orders.StagedFailure("database error in the rows from line 2 to 9: boom")

    def figures_failing(*args, **kwargs):  # after the orders were written: the lines were compared ahead
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'boom'::integer")

    if failing_step == "orders":
        monkeypatch.setattr(staged_orders, "_new_orders_write", failing)
    else:
        monkeypatch.setattr(runner, "finish_file", figures_failing)
    compared_on = _compare_backends(monkeypatch)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0

    with _logged("customers.importing.staged") as messages:
        summary = import_files(_quirky_pair(tmp_path))

    assert any(m.startswith("staged ExportOrderDetailList.csv: copied and cleaned") for m in messages)  # prepared
    [orders, lines] = summary["files"]
    assert orders["status"] == "failed" and "boom" in orders["reason"]
    assert lines["status"] == "failed" and lines["reason"].startswith("not imported")
    assert lines["rows"] == 0 and lines["errors"] == []  # what was prepared ahead is not reported as imported
    assert len(compared_on) == (1 if failing_step == "figures" else 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0


def _lines_pair(tmp_path) -> list[str]:
    """Orders 1 to 9, and a 宝贝报表 of two lines for each."""
    header = ["子订单编号", "主订单编号", *[h for h in LINE_HEADER_2017 if h != "订单编号"]]
    lines = [
        dict(line_row(), 子订单编号=f'="3003249668502701{n}{k}"', 主订单编号=f'="{3003249668502700000 + n}"')
        for n in range(1, 10)
        for k in (1, 2)
    ]
    orders = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [_order(n) for n in range(1, 10)])
    return [str(orders), str(write_export(tmp_path / "ExportOrderDetailList.csv", header, lines))]


def _slice_backends(monkeypatch) -> list[tuple[int, int]]:
    """Slices of four rows, and (first line, backend pid) of each lines slice written."""
    from customers.importing.staged import lines as staged_lines
    from customers.importing.staged import staging as staged

    monkeypatch.setattr(staged, "SLICE_ROWS", 4)
    written = staged_lines._lines_write
    seen = []

    def lines_write(table, low, high, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            seen.append((low, cursor.fetchone()[0]))
        return written(table, low, high, **kwargs)

    monkeypatch.setattr(staged_lines, "_lines_write", lines_write)
    return seen


@pytest.mark.django_db(transaction=True)
def test_lines_slices_are_written_on_two_connections_with_the_same_result(settings, tmp_path, monkeypatch):
    seen = _slice_backends(monkeypatch)

    row_by_row, staged = _both_ways(settings, _lines_pair(tmp_path))

    _assert_same(row_by_row, staged)
    assert sorted(low for low, _ in seen) == [2, 6, 10, 14, 18]  # five slices of the 18 lines
    assert len({pid for _, pid in seen}) == 2
    [_, lines] = staged[0]["files"]
    assert (lines["lines_created"], lines["landed_through_line"]) == (18, 19)


@pytest.mark.django_db(transaction=True)
def test_progress_moves_as_slices_on_two_connections_commit(settings, tmp_path, monkeypatch):
    seen = _slice_backends(monkeypatch)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    orders, lines = _lines_pair(tmp_path)
    slices_from = Path(orders).stat().st_size + int(Path(lines).stat().st_size * 0.55)  # the lines' writes
    begun_at_progress = []  # how many lines slices had begun at each step of progress through their writes

    def progress(done, total, name):
        if name == "ExportOrderDetailList.csv" and done > slices_from:
            begun_at_progress.append(len(seen))

    import_files([orders, lines], progress=progress)

    assert len(seen) == 5
    assert min(begun_at_progress) < 5  # it moved before the last slice had even begun


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "failing, landed",
    [
        (6, (4, 5)),  # the second slice, on the helper's connection: the first lands, nothing after it
        (10, (8, 9)),  # the third, on this one: the first two land, not the fourth beside it
    ],
)
def test_a_failed_lines_slice_abandons_the_slices_after_it_on_either_connection(
    settings, tmp_path, monkeypatch, failing, landed
):
    from customers.importing.staged import lines as staged_lines

    seen = _slice_backends(monkeypatch)
    written = staged_lines._lines_write

    def failing_one(table, low, high, **kwargs):
        result = written(table, low, high, **kwargs)  # its rows are written, then the transaction fails
        if low == failing:
            raise DatabaseError("boom")
        return result

    monkeypatch.setattr(staged_lines, "_lines_write", failing_one)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0

    summary = import_files(_lines_pair(tmp_path))

    [_, lines] = summary["files"]
    assert lines["status"] == "failed" and f"rows from line {failing} to {failing + 3}" in lines["reason"]
    assert (lines["lines_created"], lines["landed_through_line"]) == landed
    assert OrderLine.objects.count() == landed[0]
    assert 18 not in {low for low, _ in seen}  # after a failure no slice after it begins on this connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'huike_import_%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_lines_slices_that_wait_for_another_imports_lock_are_written_one_by_one(settings, tmp_path, monkeypatch):
    from customers.importing.staged import staging as staged

    _slice_backends(monkeypatch)
    monkeypatch.setattr(staged, "PARALLEL_LOCK_TIMEOUT", "300ms")
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    paths = _lines_pair(tmp_path)
    # Given another import's transaction holding the key of a line of the third slice (lines 10 to 13)
    other = psycopg.connect(**_conninfo())
    other.execute(
        "INSERT INTO customers_orderline (line_key, order_no, title, merchant_code, sku_properties, package_info, "
        "external_code, status_text, refund_status, remark, content_hash, source_hash) "
        "VALUES ('300324966850270161', '3003249668502700006', '', '', '', '', '', '', '', '', '', '')"
    )
    threading.Timer(1.5, other.rollback).start()  # it ends a while later without writing it

    with _logged("customers.importing.staged") as messages:
        summary = import_files(paths)
    other.close()

    # Then the slices from the third were written again one by one, once the lock was gone, and all landed
    [_, lines] = summary["files"]
    assert (lines["status"], lines["lines_created"], lines["landed_through_line"]) == ("ok", 18, 19)
    assert OrderLine.objects.count() == 18
    assert "lines 10 to 13 met another import's rows: the slices from there are written one by one" in messages


@pytest.mark.django_db(transaction=True)
def test_order_slices_on_two_connections_meeting_another_imports_buyer_are_written_one_by_one(
    settings, tmp_path, monkeypatch
):
    from django.db import connections

    from customers.importing.staged import orders as staged_orders
    from customers.importing.staged import staging as staged
    from customers.models import Customer

    # Given orders in slices of two lines, tb_bob's first in the second slice and the rest in the third
    monkeypatch.setattr(staged, "SLICE_ROWS", 2)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    buyers = ["tb_amy", "tb_amy", "tb_bob", "tb_carl", "tb_bob", "tb_bob"]
    rows = [_order(n, 买家会员名=nick) for n, nick in enumerate(buyers, 1)]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)
    customers_insert, orders_slice_write = staged_orders._customers_insert, staged_orders._orders_slice_write
    others, waited = [], []
    third_wrote = threading.Event()

    def orders_slice_written(run, source, addresses, buyers, low, high, *args, **kwargs):
        written = orders_slice_write(run, source, addresses, buyers, low, high, *args, **kwargs)
        if low == 6:
            third_wrote.set()  # its orders of tb_bob took the id this import has for tb_bob: no customer is there yet
        return written

    def customers_insert_raced(table, low, high, *, plain):
        if low == 4 and not others:  # another import creates tb_bob just before the second slice does
            waited.append(third_wrote.wait(10))

            def other_import():
                others.append(Customer.objects.create(identity_key="nick:tb_bob", buyer_nick="tb_bob"))
                connections.close_all()

            thread = threading.Thread(target=other_import)
            thread.start()
            thread.join()
        return customers_insert(table, low, high, plain=plain)

    monkeypatch.setattr(staged_orders, "_customers_insert", customers_insert_raced)
    monkeypatch.setattr(staged_orders, "_orders_slice_write", orders_slice_written)

    with _logged("customers.importing.staged") as messages:
        [orders] = import_files([str(path)])["files"]

    # Then the slices from the second were written again one by one, and every order of tb_bob is the other
    # import's customer's: none points at the id this import had taken for tb_bob
    assert "lines 4 to 5 met another import's rows: the slices from there are written one by one" in messages
    assert waited == [True]  # the third slice had written tb_bob's orders with this import's id for him
    assert (orders["status"], orders["orders_created"], orders["orders_updated"]) == ("ok", 6, 0)
    assert orders["customers_created"] == 2
    bob = others[0]
    bob.refresh_from_db()
    assert bob.order_count == 3  # the other import's customer counts this import's orders
    assert sorted(Order.objects.filter(customer=bob).values_list("order_no", flat=True)) == [
        f"{3003249668502700000 + n}" for n in (3, 5, 6)
    ]
    with connection.cursor() as cursor:
        for table in ("customers_order", "customers_customeraddress"):
            cursor.execute(
                f"SELECT count(*) FROM {table} t LEFT JOIN customers_customer c ON c.id = t.customer_id "
                "WHERE t.customer_id IS NOT NULL AND c.id IS NULL"
            )
            assert cursor.fetchone()[0] == 0, table
    assert bob.addresses.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_order_slice_on_two_connections_leaves_no_sighting_of_its_orders(settings, tmp_path, monkeypatch):
    from customers.importing.staged import orders as staged_orders
    from customers.importing.staged import staging as staged
    from customers.models import CustomerAddress

    # Given tb_amy's orders to one address over three slices of two lines, the second slice failing
    monkeypatch.setattr(staged, "SLICE_ROWS", 2)
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    rows = [_order(n, 买家会员名="tb_amy", 订单创建时间=f"2024-03-0{n} 10:00:00") for n in range(1, 7)]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)
    orders_slice_write = staged_orders._orders_slice_write

    def failing_second(run, source, addresses, buyers, low, high, *args, **kwargs):
        written = orders_slice_write(run, source, addresses, buyers, low, high, *args, **kwargs)
        if low == 4:
            raise DatabaseError("boom")
        return written

    monkeypatch.setattr(staged_orders, "_orders_slice_write", failing_second)

    [orders] = import_files([str(path)])["files"]

    # Then the first slice landed, and its address was last seen at its own last order, not at a later one
    assert (orders["status"], orders["orders_created"], orders["landed_through_line"]) == ("failed", 2, 3)
    assert Order.objects.count() == 2
    [address] = CustomerAddress.objects.all()
    assert timezone.localtime(address.last_seen_at).date() == date(2024, 3, 2)
    assert timezone.localtime(address.first_seen_at).date() == date(2024, 3, 1)


def test_an_address_seen_over_several_slices_keeps_its_first_and_last_sighting(settings, tmp_path, monkeypatch):
    from customers.importing.staged import staging as staged
    from customers.models import CustomerAddress

    monkeypatch.setattr(staged, "SLICE_ROWS", 2)
    rows = [_order(n, 买家会员名="tb_amy", 订单创建时间=f"2024-03-0{7 - n} 10:00:00") for n in range(1, 7)]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)

    row_by_row, staged_result = _both_ways(settings, [str(path)])

    _assert_same(row_by_row, staged_result)
    [address] = CustomerAddress.objects.all()
    assert timezone.localtime(address.first_seen_at).date() == date(2024, 3, 1)  # the last line's order
    assert timezone.localtime(address.last_seen_at).date() == date(2024, 3, 6)


def _conninfo() -> dict:
    settings_db = connection.settings_dict
    return {"dbname": settings_db["NAME"], "user": settings_db["USER"], "host": settings_db["HOST"],
            "port": settings_db["PORT"] or 5432, "password": settings_db["PASSWORD"] or None, "autocommit": False}


@pytest.mark.django_db(transaction=True)
def test_orders_and_lines_a_concurrent_import_wrote_first_are_written_again_with_on_conflict(
    settings, tmp_path, monkeypatch
):
    import threading

    from django.db import connections

    from customers.importing.staged import lines as staged_lines
    from customers.importing.staged import orders as staged_orders
    from customers.models import Customer, OrderLine

    # Given a pair whose order and line another import commits after ours found them new, before ours writes
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    header = ["子订单编号", "主订单编号", *[h for h in LINE_HEADER_2017 if h != "订单编号"]]
    line = dict(line_row(), 子订单编号='="3003249668502700101"', 主订单编号='="3003249668502700001"')
    paths = [
        str(write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [_order(1), _order(2)])),
        str(write_export(tmp_path / "ExportOrderDetailList.csv", header, [line])),
    ]

    def elsewhere(work):  # another connection, committed at once
        def run():
            try:
                work()
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    customers_insert, lines_write = staged_orders._customers_insert, staged_lines._lines_write

    def customers_insert_raced(buyers, low, high, *, plain):
        if plain:  # the other import's buyer and its order

            def other_import():
                alice = Customer.objects.create(identity_key="nick:tb_alice", buyer_nick="tb_alice")
                Order.objects.create(order_no="3003249668502700001", status="unpaid", customer=alice)

            elsewhere(other_import)
        return customers_insert(buyers, low, high, plain=plain)

    def lines_write_raced(written, low, high, *, plain):
        if plain:
            elsewhere(lambda: OrderLine.objects.create(line_key="3003249668502700101", order_no="x", quantity=9))
        return lines_write(written, low, high, plain=plain)

    monkeypatch.setattr(staged_orders, "_customers_insert", customers_insert_raced)
    monkeypatch.setattr(staged_lines, "_lines_write", lines_write_raced)

    with _logged("customers.importing.staged") as messages:
        [orders, lines] = import_files(paths)["files"]

    # Then each slice met the other's row, was rolled back whole and written again with ON CONFLICT: our file's
    # content wins, nothing is lost or doubled
    assert sum("written again with ON CONFLICT" in m for m in messages) == 2
    assert (orders["status"], orders["orders_created"], orders["orders_updated"]) == ("ok", 1, 1)
    assert Order.objects.count() == 2 and Order.objects.get(order_no="3003249668502700001").status != "unpaid"
    assert Order.objects.get(order_no="3003249668502700001").customer is not None
    assert orders["customers_created"] == 0 and Customer.objects.count() == 1  # the other import's buyer
    alice = Customer.objects.get()
    assert (alice.order_count, set(alice.orders.values_list("order_no", flat=True))) == (
        2, {"3003249668502700001", "3003249668502700002"}
    )  # with our orders in its figures
    assert (lines["status"], lines["lines_created"], lines["lines_updated"]) == ("ok", 0, 1)
    assert OrderLine.objects.count() == 1
    written = OrderLine.objects.get(line_key="3003249668502700101")
    assert (written.order_no, written.quantity, written.order.order_no) == ("3003249668502700001", 1, written.order_no)
