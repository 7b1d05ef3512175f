"""The sample exports of both layouts, their encodings and Excel variants, re-imports and linking."""

from decimal import Decimal
from pathlib import Path

import pytest

from customers.importing import import_files
from customers.models import Customer, CustomerAddress, Order, OrderLine, OrderStatus, Product, Refund, TimelineEvent

from .importing_fixtures import SAMPLES, by_kind, line_of

V2017, V2023 = SAMPLES / "v2017", SAMPLES / "v2023"
ORDERS, LINES, REFUNDS = "ExportOrderList202403311530", "ExportOrderDetailList202403311530", "RefundExport202403311530"

# source_hash is the hash of the record's bytes as the file has them (a re-import's shortcut): another encoding of
# the same export gives other bytes.
ORDER_FIELDS = [
    f.name
    for f in Order._meta.concrete_fields
    if f.name not in ("id", "customer", "imported_at", "updated_at", "source_hash")
]
CUSTOMER_FIELDS = [
    "identity_key",
    "buyer_nick",
    "display_nick",
    "real_name",
    "phone",
    "phone_tail",
    "phone_is_masked",
    "phone_is_virtual",
    "phone_virtual_expires_at",
    "email",
    "wangwang",
    "province",
    "city",
    "district",
    "address",
    "postcode",
    "order_count",
    "paid_order_count",
    "total_paid",
    "avg_order_value",
    "refund_total",
    "return_count",
    "first_order_at",
    "last_order_at",
    "first_paid_at",
    "last_paid_at",
]
LINE_FIELDS = [
    f.name for f in OrderLine._meta.concrete_fields if f.name not in ("id", "order", "product", "source_hash")
]
REFUND_FIELDS = [f.name for f in Refund._meta.concrete_fields if f.name not in ("id", "order", "customer")]


def snapshot() -> dict:
    """Everything an import wrote, without surrogate ids or clock times."""
    return {
        "orders": sorted(Order.objects.values_list(*ORDER_FIELDS, "customer__identity_key")),
        "customers": sorted(Customer.objects.values_list(*CUSTOMER_FIELDS)),
        "lines": sorted(OrderLine.objects.values_list(*LINE_FIELDS, "order__order_no", "product__key")),
        "refunds": sorted(Refund.objects.values_list(*REFUND_FIELDS, "order__order_no", "customer__identity_key")),
        "addresses": sorted(
            CustomerAddress.objects.values_list(
                "customer__identity_key",
                "fingerprint",
                "receiver_name",
                "phone",
                "province",
                "city",
                "district",
                "detail",
                "postcode",
                "first_seen_at",
                "last_seen_at",
            )
        ),
        "products": sorted(Product.objects.values_list("key", "merchant_code", "title")),
    }


def wipe() -> None:
    for model in (Refund, OrderLine, Order, Product, CustomerAddress, TimelineEvent, Customer):
        model.objects.all().delete()


def as_gbk(rows: list[tuple], drop: int) -> list[tuple]:
    """Rows as a GBK export would spell them (characters GBK lacks become "?"), without column `drop`."""

    def spell(value):
        return value.encode("gbk", errors="replace").decode("gbk") if isinstance(value, str) else value

    return [tuple(spell(v) for i, v in enumerate(row) if i != drop) for row in rows]


def files(folder: Path, suffix: str = "csv") -> list[Path]:
    return [folder / f"{ORDERS}.{suffix}", folder / f"{LINES}.{suffix}", folder / f"{REFUNDS}.csv"]


@pytest.mark.django_db
def test_it_imports_the_2017_sample_pair_and_refund_export():
    # Given the 2017-layout sample files
    # When they are imported
    summary = by_kind(import_files(files(V2017)))

    # Then every readable order landed once, bad rows are reported with their original line and column
    orders = summary["orders"]
    assert orders["status"] == "ok"
    assert orders["orders_created"] == Order.objects.count() == 56
    assert orders["skipped"] == 4  # a blank line, a comma-only line, and the blank lines at the end
    assert orders["duplicates"] == 1  # 360181590830166131 is exported twice, identically
    path = V2017 / f"{ORDERS}.csv"
    errors = {(e["line"], e["column"]): e for e in orders["errors"]}
    assert (line_of(path, "2.53564E+17"), "订单编号") in errors
    assert (line_of(path, '"-12.50"'), "买家实际支付金额") in errors
    assert (line_of(path, "2024-02-30 25:61:00"), "订单创建时间") in errors
    assert errors[(line_of(path, "2024-02-30 25:61:00"), "订单创建时间")]["value"] == "2024-02-30 25:61:00"
    # and the lines and refunds are linked to their orders
    # ... the 宝贝报表 gives 360181590830166131's only line twice, identically (as the 订单报表 gives the order): one
    # line, and a warning naming both rows
    assert summary["lines"]["lines_created"] == OrderLine.objects.count() == 97
    assert summary["lines"]["duplicates"] == 1
    assert OrderLine.objects.filter(order_no="360181590830166131").count() == 1
    lines_path = V2017 / f"{LINES}.csv"
    first, again = (line_of(lines_path, "360181590830166131", nth=n) for n in (1, 2))
    warnings = summary["lines"]["warnings"]
    [warning] = [w for w in warnings if "repeats" in w["reason"]]
    assert warning["line"] == again and f"line {again} repeats line {first} " in warning["reason"]
    assert summary["lines"]["orphans"] == OrderLine.objects.filter(order=None).count() == 7  # their orders were bad
    assert len([w for w in warnings if "orphan" in w["reason"] or "not in" in w["reason"]]) == 7  # each listed
    assert summary["refunds"]["refunds_created"] == 8
    assert not Refund.objects.filter(order=None).exists()
    assert Customer.objects.count() == summary["orders"]["customers_created"] == 55


@pytest.mark.django_db
def test_it_imports_the_2023_sample_with_masked_buyers_under_fallback_keys():
    # Given the recent layout, where member names, receivers and phones are masked
    # When it is imported
    summary = by_kind(import_files(files(V2023)))

    # Then masked values are stored as masked and buyers get fallback identity keys
    assert summary["orders"]["orders_created"] == 56
    order = Order.objects.get(order_no="274231594259472487")
    assert order.buyer_nick == "t**2"
    assert order.receiver_name == "丁*"
    customer = order.customer
    assert customer.identity_key.startswith("fb:")
    assert customer.display_nick == "阳光酱"
    assert customer.phone == "17024562418-2418"
    assert customer.phone_is_virtual and not customer.phone_is_masked
    assert customer.phone_virtual_expires_at.isoformat() == "2024-04-13T11:29:44+00:00"  # 19:29:44 in Shanghai
    masked = Order.objects.get(order_no="355635695680582536").customer
    assert masked.phone == "190****7000" and masked.phone_is_masked and masked.phone_tail == "7000"
    # and the 2019+ 宝贝报表 carries sub-order numbers, paid amounts and refund states
    line = OrderLine.objects.get(line_key="253564473930424415")
    assert line.order is None  # its order has a scientific-notation id and was rejected
    assert OrderLine.objects.get(line_key="321455835874055785").paid_amount == Decimal("17.38")


@pytest.mark.django_db
def test_gbk_utf8_bom_and_xlsx_variants_of_the_same_data_import_to_identical_results(tmp_path):
    # Given the GBK sample pair, the same bytes re-encoded as UTF-8 with a BOM, and the .xlsx variants
    for name in (f"{ORDERS}.csv", f"{LINES}.csv"):
        text = (V2017 / name).read_bytes().decode("gb18030")
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    gbk = [V2017 / f"{ORDERS}.csv", V2017 / f"{LINES}.csv"]
    utf8 = [tmp_path / f"{ORDERS}.csv", tmp_path / f"{LINES}.csv"]
    xlsx = [V2017 / f"{ORDERS}.xlsx", V2017 / f"{LINES}.xlsx"]

    # When each is imported into an empty database
    gbk_summary = import_files(gbk)
    from_gbk = snapshot()
    wipe()
    utf8_summary = import_files(utf8)
    from_utf8 = snapshot()
    wipe()
    xlsx_summary = by_kind(import_files(xlsx))
    from_xlsx = snapshot()

    # Then the results are identical, with the same errors on the same lines
    assert from_utf8 == from_gbk
    assert from_gbk["orders"]
    # ... with two differences that come from the files, not the importer: one bare 18-digit order number that
    # Excel stored as a float (1.3308051697846493e+17) cannot be recovered, so the workbook row is rejected; and
    # the GBK export wrote "??" for emoji that the workbook keeps (so those rows' texts and hashes differ).
    lost = "133080516978464936"
    hash_at = ORDER_FIELDS.index("content_hash")
    assert as_gbk([o for o in from_gbk["orders"] if o[0] != lost], hash_at) == as_gbk(from_xlsx["orders"], hash_at)
    assert any(e["value"] == "1.3308051697846493e+17" for e in xlsx_summary["orders"]["errors"])
    assert from_xlsx["customers"] == [c for c in from_gbk["customers"] if c[0] != "nick:coco7321"]
    assert len(from_xlsx["lines"]) == len(from_gbk["lines"])
    gbk_errors = [(e["line"], e["column"], e["value"]) for e in by_kind(gbk_summary)["orders"]["errors"]]
    assert [(e["line"], e["column"], e["value"]) for e in by_kind(utf8_summary)["orders"]["errors"]] == gbk_errors


@pytest.mark.django_db
def test_reimporting_the_same_files_creates_and_updates_nothing():
    # Given both layouts imported once
    paths = files(V2017) + files(V2023)
    import_files(paths)
    before = snapshot()
    updated_at = sorted(Order.objects.values_list("order_no", "updated_at"))
    events = TimelineEvent.objects.count()

    # When the same files are imported again
    again = import_files(paths)

    # Then nothing was created or updated, and the database holds exactly what it held
    for entry in again["files"]:
        for key in (
            "orders_created",
            "orders_updated",
            "lines_created",
            "lines_updated",
            "refunds_created",
            "refunds_updated",
            "customers_created",
            "customers_updated",
            "products_created",
        ):
            assert entry[key] == 0, (entry["file"], key)
    assert snapshot() == before
    assert sorted(Order.objects.values_list("order_no", "updated_at")) == updated_at
    assert TimelineEvent.objects.count() == events


@pytest.mark.django_db
def test_lines_imported_before_their_orders_are_linked_when_the_orders_arrive():
    # Given a 宝贝报表 imported on its own
    import_files([V2023 / f"{LINES}.csv"])
    assert not OrderLine.objects.exclude(order=None).exists()

    # When the 订单报表 arrives later
    import_files([V2023 / f"{ORDERS}.csv"])

    # Then the lines point at their orders (except those whose order row was rejected)
    line = OrderLine.objects.get(line_key="321455835874055785")
    assert line.order.order_no == "321455835865055785"
    assert OrderLine.objects.filter(order=None).count() == 7


@pytest.mark.django_db
def test_refunds_are_linked_to_orders_and_customers_and_returns_are_counted():
    # Given orders and then the refund export
    import_files([V2017 / f"{REFUNDS}.csv"])
    assert Refund.objects.filter(order=None).count() == 8
    import_files([V2017 / f"{ORDERS}.csv"])

    # Then each refund is linked, and the customer's figures count the successful returns
    refund = Refund.objects.get(refund_no="3599528907871361760")
    assert refund.order.order_no == "3599528907866661760"
    assert refund.customer == refund.order.customer
    assert refund.needs_return is True and refund.phase == "售后"
    assert refund.customer.return_count == 1
    assert refund.customer.refund_total == Decimal("98.49")


@pytest.mark.django_db
def test_an_after_sale_refund_does_not_change_the_order_status():
    # Given a completed order
    import_files([V2017 / f"{ORDERS}.csv"])
    order = Order.objects.get(order_no="3599528907866661760")
    assert order.status == OrderStatus.COMPLETED

    # When its 售后 refund (退款成功) is imported
    import_files([V2017 / f"{REFUNDS}.csv"])

    # Then the order keeps its status
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED and order.status_text == "交易成功"


@pytest.mark.django_db
def test_a_repeated_order_with_another_status_in_one_file_is_reported_and_the_more_advanced_status_wins():
    summary = by_kind(import_files([V2017 / f"{ORDERS}.csv"]))

    order = Order.objects.get(order_no="137614365370565630")
    assert order.status == OrderStatus.COMPLETED
    [warning] = [w for w in summary["orders"]["warnings"] if w["value"] == "137614365370565630"]
    assert warning["line"] == line_of(V2017 / f"{ORDERS}.csv", "137614365370565630", nth=2)


@pytest.mark.django_db
def test_the_import_records_one_timeline_event_per_customer_and_fills_the_derived_figures():
    import_files([V2017 / f"{ORDERS}.csv"])

    customer = Customer.objects.get(identity_key="nick:向阳豆豆")
    assert customer.order_count == 2 and customer.paid_order_count == 2
    assert str(customer.total_paid) == "872.00" and str(customer.avg_order_value) == "436.00"
    assert customer.addresses.count() == 2
    [event] = TimelineEvent.objects.filter(customer=customer)
    assert event.kind == "order_imported"
    assert event.data["created"] == 2
    assert sorted(event.data["orders"]) == ["1571533142044103806", "288101128779600952"]


@pytest.mark.django_db
def test_the_progress_of_an_xlsx_import_moves_with_its_rows_and_ends_at_the_total():
    # Given the .xlsx order report of the sample, read two rows at a time
    calls = []

    def progress(done, total, name):
        calls.append((done, total))

    import_files([V2017 / f"{ORDERS}.xlsx"], chunk_rows=2, progress=progress)

    # Then the progress is reported after each chunk, grows, and the last report is the whole file
    positions = [done for done, _ in calls]
    total = calls[-1][1]
    assert len(calls) >= 2 and positions == sorted(positions) and 0 < positions[0] < total
    assert positions[-1] == total == (V2017 / f"{ORDERS}.xlsx").stat().st_size
