"""The same orders exported in two 宝贝报表 / 订单报表 layouts (issue #18 items 1 and 7).

The 2017 layout has no 子订单编号 and unmasked buyers; the 2023 layout keys each line by its 子订单编号 and masks the
buyers. Importing one after the other, in either order, CSV or .xlsx, row by row or staged, stores each line once
and leaves no customer behind without orders."""

from collections import Counter
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Count

from customers.importing import import_files
from customers.models import Customer, CustomerMerge, Order, OrderLine

from .importing_fixtures import LINE_HEADER_2017, SAMPLES, by_kind, line_of, line_row, write_export

pytestmark = pytest.mark.django_db

ORDERS, LINES = "ExportOrderList202403311530", "ExportOrderDetailList202403311530"
ROW_BY_ROW = 1 << 62  # HUIKE_IMPORT_STAGE_MIN_BYTES that no file reaches
SIGNATURE = ("order_no", "title", "sku_properties", "list_price", "quantity")


def pair(layout: str, suffix: str) -> list:
    return [SAMPLES / layout / f"{ORDERS}.{suffix}", SAMPLES / layout / f"{LINES}.{suffix}"]


def lines_stored_twice() -> list:
    return list(
        OrderLine.objects.values(*SIGNATURE).annotate(n=Count("id")).filter(n__gt=1).values_list(*SIGNATURE, "n")
    )


@pytest.fixture(params=["row_by_row", pytest.param("staged", marks=pytest.mark.postgres)])
def path(request, settings):
    """Which writer takes a CSV 宝贝报表: the staged one (PostgreSQL only) or the row-by-row one."""
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0 if request.param == "staged" else ROW_BY_ROW
    return request.param


@pytest.mark.parametrize(
    ("first", "second"),
    [(("v2023", "csv"), ("v2017", "xlsx")), (("v2023", "csv"), ("v2017", "csv")),
     (("v2017", "xlsx"), ("v2023", "csv")), (("v2017", "csv"), ("v2023", "csv")),
     (("v2023", "xlsx"), ("v2017", "xlsx")), (("v2017", "xlsx"), ("v2023", "xlsx"))],
    ids=lambda layout: "-".join(layout),
)
def test_the_same_orders_in_two_layouts_are_stored_once(path, first, second):
    # Given the sample orders imported in one layout
    import_files(pair(*first))
    lines_before = OrderLine.objects.count()

    # When the same orders arrive in the other layout
    summary = by_kind(import_files(pair(*second)))

    # Then no line is stored twice, and nothing was added
    assert lines_stored_twice() == []
    assert summary["lines"]["lines_created"] == 0
    assert OrderLine.objects.count() == lines_before == 97
    skus = OrderLine.objects.filter(order_no="355635695680582536").values_list("sku_properties", flat=True)
    assert sorted(Counter(skus).values()) == [1] * len(skus) and len(skus) >= 1
    # and every buyer the re-import re-keyed went with its orders: none is left as an empty potential customer
    assert not Customer.objects.filter(merged_into=None, orders=None).exists()
    merged = Customer.objects.exclude(merged_into=None).count()
    assert summary["orders"]["customers_merged"] == merged == CustomerMerge.objects.count()
    if first[0] == "v2023":  # masked buyers, now seen with their member names: merged into those customers
        assert merged > 0


def test_a_2017_line_matched_to_a_2023_line_keeps_its_sub_order_number_and_paid_amount(path):
    # Given the 2023 sample, whose lines carry 子订单编号 and paid amounts
    import_files(pair("v2023", "csv"))

    # When the 2017 export of the same orders is imported
    import_files(pair("v2017", "csv"))

    # Then the line keeps its key and the values the 2017 layout lacks
    line = OrderLine.objects.get(line_key="321455835874055785")
    assert line.paid_amount == Decimal("17.38")
    assert not OrderLine.objects.filter(line_key__contains=":").exclude(order=None).exists()


def test_a_2023_line_adopts_the_key_less_2017_line_of_its_order(path):
    # Given the 2017 sample: lines keyed by order and place
    import_files(pair("v2017", "csv"))
    assert OrderLine.objects.filter(line_key__contains=":").exists()

    # When the 2023 export of the same orders is imported
    summary = by_kind(import_files(pair("v2023", "csv")))

    # Then each 2017 line took its 子订单编号 and the 2023 values, and none was inserted again
    assert summary["lines"]["lines_created"] == 0
    assert OrderLine.objects.get(line_key="321455835874055785").paid_amount == Decimal("17.38")
    assert not OrderLine.objects.filter(line_key__contains=":").exclude(order=None).exists()
    assert lines_stored_twice() == []


def test_reimporting_both_layouts_again_changes_nothing(path):
    # Given both layouts imported, one after the other
    import_files(pair("v2023", "csv"))
    import_files(pair("v2017", "csv"))
    before = sorted(OrderLine.objects.values_list("line_key", "content_hash"))

    # When both are imported again
    again = by_kind(import_files(pair("v2017", "csv"))), by_kind(import_files(pair("v2023", "csv")))

    # Then no line was created and no customer merged
    for summary in again:
        assert summary["lines"]["lines_created"] == 0
        assert summary["orders"]["customers_merged"] == 0
    assert sorted(OrderLine.objects.values_list("line_key", "content_hash")) == before


def _write_xlsx(target, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(h, "") for h in header])
    book.save(target)
    return target


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_2017_line_given_twice_identically_is_one_line_with_a_warning_naming_both(path, tmp_path, suffix):
    # Given a 2017-layout 宝贝报表 that gives one line twice, identical in every field, beside another line
    rows = [
        line_row(),
        line_row(标题="玻璃杯", 商家编码="JJ-BLB", 外部系统编号="JJ-BLB"),
        line_row(),
    ]
    if suffix == "csv":
        target = write_export(tmp_path / f"{LINES}.csv", LINE_HEADER_2017, rows, trailing_comma=True)
        first, again = (line_of(target, "陶瓷马克杯", nth=n) for n in (1, 2))
    else:
        rows = [{k: v.replace('="', "").rstrip('"') for k, v in row.items()} for row in rows]
        target = _write_xlsx(tmp_path / f"{LINES}.xlsx", LINE_HEADER_2017, rows)
        first, again = 2, 4

    # When it is imported
    summary = by_kind(import_files([target]))["lines"]

    # Then the line is stored once, and the repeat is reported with both line numbers
    assert OrderLine.objects.filter(title="陶瓷马克杯").count() == 1
    assert OrderLine.objects.count() == summary["lines_created"] == 2
    assert summary["duplicates"] == 1
    # (the lines' order is not imported here, so each stored line is also listed as an orphan)
    [warning] = [w for w in summary["warnings"] if "repeats" in w["reason"]]
    assert warning["line"] == again
    order = "3003249668502739001"
    assert warning["reason"] == f"line {again} repeats line {first} of order {order} in this file; stored once"

    # and importing it again changes nothing
    again_summary = by_kind(import_files([target]))["lines"]
    assert again_summary["lines_created"] == again_summary["lines_updated"] == 0
    assert OrderLine.objects.count() == 2


def test_two_different_2017_lines_of_the_same_item_are_both_kept(path, tmp_path):
    # Given a 2017-layout order with the same item twice, but with different remarks (not a repeat)
    rows = [line_row(备注="礼盒"), line_row(备注="")]
    target = write_export(tmp_path / f"{LINES}.csv", LINE_HEADER_2017, rows, trailing_comma=True)

    # When it is imported twice
    import_files([target])
    summary = by_kind(import_files([target]))["lines"]

    # Then both lines are stored, once each
    assert sorted(OrderLine.objects.values_list("line_key", "remark")) == [
        ("3003249668502739001:1", "礼盒"),
        ("3003249668502739001:2", ""),
    ]
    assert summary["lines_created"] == 0 and summary["warnings"] == []


def test_a_masked_buyer_re_keyed_by_an_older_export_is_merged_into_the_customer_that_took_its_orders():
    # Given the 2023 订单报表: masked buyers under fallback keys
    import_files([SAMPLES / "v2023" / f"{ORDERS}.csv"])
    masked = Order.objects.get(order_no="355635695680582536").customer
    assert masked.identity_key.startswith("fb:")

    # When the 2017 订单报表 of the same orders gives the buyers' member names
    summary = by_kind(import_files([SAMPLES / "v2017" / f"{ORDERS}.xlsx"]))

    # Then the masked customer was merged into the customer that took its order, and is no potential customer
    order = Order.objects.get(order_no="355635695680582536")
    masked.refresh_from_db()
    assert order.customer_id != masked.pk and masked.merged_into_id == order.customer_id
    assert order.customer.order_count >= 1
    merge = CustomerMerge.objects.get(source=masked)
    assert merge.target_id == order.customer_id
    assert not Customer.objects.filter(merged_into=None, orders=None).exists()
    assert summary["orders"]["customers_merged"] == Customer.objects.exclude(merged_into=None).count() > 0


def test_the_job_page_says_how_many_customers_the_import_merged(manager, eager, client,
                                                                 django_capture_on_commit_callbacks):
    """The acceptance flow of the issue, through the web: the v2023 pair, then the same orders as the v2017
    .xlsx pair; the second job's page reports the customers it left without orders and merged."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from customers.services.jobs import import_job_create

    def job_of(layout, suffix):
        files = [SimpleUploadedFile(path.name, path.read_bytes()) for path in pair(layout, suffix)]
        with django_capture_on_commit_callbacks(execute=True):
            return import_job_create(files=files, user=manager)

    job_of("v2023", "csv")
    second = job_of("v2017", "xlsx")

    second.refresh_from_db()
    merged = sum(entry.get("customers_merged", 0) for entry in second.result["files"])
    assert merged == CustomerMerge.objects.count() > 0
    client.force_login(manager)
    page = client.get(reverse("job-detail", args=[second.pk])).content.decode()
    assert f"本次导入使 {merged} 位客户不再有订单，已合并到接收其订单的客户" in page
