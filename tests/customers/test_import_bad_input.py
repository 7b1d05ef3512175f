"""Hostile or broken input to the import (issue 18): cut phones, orphan lines, rejected files, oversized fields and
workbooks. Each file's trouble is that file's entry; what could be imported is."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Job
from crm.services import job_finish
from customers.importing import import_files
from customers.importing.messages import reason_display
from customers.models import Customer, Order
from customers.services.jobs import import_job_create
from tests.crm.factories import JobFactory

from .importing_fixtures import LINE_HEADER_2017, ORDER_HEADER, export_text, line_row, order_row, write_export

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


def test_a_job_whose_rows_were_all_rejected_is_failed_with_the_reason(manager, eager, client,
                                                                       django_capture_on_commit_callbacks):
    # Given an export whose every order number was mangled by Excel
    rows = [order_row(订单编号="3.00324966850274E+18"), order_row(订单编号="3.00324966850275E+18")]
    upload = SimpleUploadedFile("orders.csv", export_text(ORDER_HEADER, rows).encode("gb18030"))

    # When it is imported as a job
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(files=[upload], user=manager)

    # Then the job failed, and its page says why: no row of the file was imported
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    entry = job.result["files"][0]
    assert entry["status"] == "failed" and entry["reason"] == "none of its 2 rows was imported (see the rows listed)"
    client.force_login(manager)
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "已完成" not in page
    assert reason_display(entry["reason"]) in page and reason_display(entry["reason"]) != entry["reason"]


def test_a_run_where_one_file_was_all_rejected_is_partly_done(tmp_path):
    good = write_export(tmp_path / "good.csv", ORDER_HEADER, [order_row()])
    bad = write_export(tmp_path / "bad.csv", ORDER_HEADER, [order_row(订单编号="3.00324966850274E+18")])

    summary = import_files([good, bad])

    assert summary["status"] == "partial"
    assert [f["status"] for f in summary["files"]] == ["ok", "failed"]


@pytest.mark.postgres
@pytest.mark.parametrize("min_bytes", [ROW_BY_ROW, STAGED], ids=["row-by-row", "staged"])
def test_orphan_lines_are_listed_as_warnings_with_their_line_and_order(settings, tmp_path, min_bytes):
    # Given a 订单报表 of one order and a 宝贝报表 with a line of it and two lines of an order it does not hold
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = min_bytes
    orders = write_export(tmp_path / "orders.csv", ORDER_HEADER, [order_row()])
    lines = write_export(tmp_path / "lines.csv", LINE_HEADER_2017, [
        line_row(),
        line_row(订单编号='="3003249668502739777"'),
        line_row(订单编号='="3003249668502739777"', 标题="第二件", 商家编码="JJ-2"),
    ])

    # When both are imported
    summary = import_files([orders, lines])

    # Then the two orphans are counted and each is listed with its line and order number
    entry = summary["files"][1]
    assert entry["orphans"] == 2
    listed = [(w["line"], w["value"]) for w in entry["warnings"]]
    assert listed == [(3, "3003249668502739777"), (4, "3003249668502739777")]
    assert entry["warning_count"] == 2
    assert all("3003249668502739777" in w["reason"] for w in entry["warnings"])


def workbook(path, rows, *, dimension: int | None = None, padding: int = 0):
    """A minimal .xlsx written by hand (inline strings), so that a test can build what no spreadsheet program
    would: a declared size that lies, or a sheet padded with megabytes of repeated XML that compress to nothing."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(ref, value):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'

    def column(i):
        name = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            name = chr(65 + r) + name
        return name

    body = "".join(
        f'<row r="{n}">' + "".join(cell(f"{column(i)}{n}", v) for i, v in enumerate(row)) + "</row>"
        for n, row in enumerate(rows, 1)
    )
    size = f'<dimension ref="A1:AZ{dimension}"/>' if dimension else ""
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"{size}<sheetData>{body}</sheetData>" + "<!--" + "x" * padding + "-->" + "</worksheet>")
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="' + ns + '/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="' + ns + '/package/2006/relationships">'
        '<Relationship Id="rId1" Type="' + ns + '/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="' + ns + '/spreadsheetml/2006/main" '
        'xmlns:r="' + ns + '/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="' + ns
        + '/package/2006/relationships"><Relationship Id="rId1" Type="' + ns
        + '/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def order_cells(**changes) -> list[str]:
    row = order_row(**changes)
    return [row.get(h, "") for h in ORDER_HEADER]


def test_an_xlsx_that_unpacks_past_the_limit_is_refused_before_it_is_read(settings, tmp_path):
    # Given a small workbook whose sheet unpacks to 3 MB (a zip bomb in miniature) and a 2 MB limit
    settings.HUIKE_IMPORT_XLSX_MAX_UNPACKED_MB = 2
    path = workbook(tmp_path / "bomb.xlsx", [ORDER_HEADER, order_cells()], padding=3 * 1024 * 1024)
    assert path.stat().st_size < 100_000

    summary = import_files([path])

    [entry] = summary["files"]
    assert entry["status"] == "unreadable" and entry["rows"] == 0
    assert entry["reason"] == "the workbook unpacks to 3 MB, more than the 2 MB allowed: it was not read"
    assert summary["status"] == "failed" and not Order.objects.exists()


def test_an_xlsx_of_more_rows_than_allowed_is_refused_before_it_is_read(settings, tmp_path):
    settings.HUIKE_IMPORT_MAX_ROWS = 5
    rows = [order_cells(订单编号=f'="30032496685027{n:05d}"') for n in range(8)]
    path = workbook(tmp_path / "many.xlsx", [ORDER_HEADER, *rows], dimension=9)

    [entry] = import_files([path])["files"]

    assert entry["status"] == "unreadable"
    assert entry["reason"] == "the sheet has more than 5 rows: it was not read (split the export)"
    assert not Order.objects.exists()


def test_an_unsized_xlsx_of_more_rows_than_allowed_is_refused_too(settings, tmp_path):
    settings.HUIKE_IMPORT_MAX_ROWS = 5
    rows = [order_cells(订单编号=f'="30032496685027{n:05d}"') for n in range(8)]
    path = workbook(tmp_path / "unsized.xlsx", [ORDER_HEADER, *rows])  # no dimension: its rows are counted

    [entry] = import_files([path])["files"]

    assert entry["status"] == "unreadable"
    assert entry["reason"] == "the sheet has more than 5 rows: it was not read (split the export)"
    assert not Order.objects.exists()


def test_a_file_stops_after_the_most_errors_allowed_with_the_errors_listed(settings, tmp_path):
    # Given a limit of 10 errors and a file of 40 rows whose every order number was mangled, then a good one
    settings.HUIKE_IMPORT_MAX_ERRORS_PER_FILE = 10
    bad = [order_row(订单编号=f"3.0032496685027{n:02d}E+18") for n in range(40)]
    path = write_export(tmp_path / "orders.csv", ORDER_HEADER, [*bad, order_row()])

    [entry] = import_files([path], chunk_rows=4)["files"]

    # Then reading stopped at the 10th error, which are listed, with the reason; the good row was never reached
    assert entry["status"] == "failed" and entry["error_count"] == 12
    assert len(entry["errors"]) == 12 and entry["rows"] == 12
    assert entry["reason"] == "stopped after 12 errors (at most 10 per file): nothing after line 13 was read"
    assert not Order.objects.exists()


@pytest.mark.postgres
def test_a_big_file_on_the_set_based_path_with_too_many_errors_writes_nothing_and_the_next_file_goes_on(
    settings, tmp_path
):
    # Given the set-based path for every CSV, a limit of 10 errors, a file of 40 mangled rows and one good row,
    # and a second, good file
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0
    settings.HUIKE_IMPORT_MAX_ERRORS_PER_FILE = 10
    bad = [order_row(订单编号=f"3.0032496685027{n:02d}E+18") for n in range(40)]
    hostile = write_export(tmp_path / "hostile.csv", ORDER_HEADER, [*bad, order_row()])
    (tmp_path / "next").mkdir()
    good = write_export(tmp_path / "next" / "orders.csv", ORDER_HEADER, [order_row(订单编号='="3003249668502799999"')])

    first, second = import_files([hostile, good])["files"]

    # Then the first is failed with the reason and every error counted, none of its rows written; the second landed
    assert first["status"] == "failed" and first["error_count"] == 40
    assert first["reason"] == "40 errors, more than a file may have (10): none of its rows was imported"
    assert second["status"] == "ok" and second["orders_created"] == 1
    assert list(Order.objects.values_list("order_no", flat=True)) == ["3003249668502799999"]


def test_a_running_import_shows_megabytes_and_each_files_state_not_the_last_files_name(manager, client, tmp_path):
    # Given a running import job of a 宝贝报表 and a 订单报表 (given in that order; orders are imported first)
    from customers.importing.jobs import FilesProgress

    job = JobFactory(kind="import_orders", status=Job.Status.RUNNING, created_by=manager)
    lines = write_export(tmp_path / "lines.csv", LINE_HEADER_2017, [line_row()])
    orders = write_export(tmp_path / "orders.csv", ORDER_HEADER, [order_row()])
    tracker = FilesProgress(job, ["lines.csv", "orders.csv"])
    client.force_login(manager)
    pages = []

    def progress(done, total, step):  # what the job page shows at each step the import reports
        tracker(done, total, step)
        pages.append(client.get(reverse("job-detail", args=[job.pk])).content.decode())

    # When the files are imported
    import_files([lines, orders], job=job, progress=progress)

    # Then the page says how much is read with a unit, and each file's state: the 订单报表 first, then the other
    first, last = pages[0], pages[-1]
    assert "字节" in first or "KB" in first or "MB" in first
    assert 'data-state="importing">orders.csv' in first and 'data-state="waiting">lines.csv' in first
    assert 'data-state="read">orders.csv' in last and 'data-state="importing">lines.csv' in last

    # and once finished the job is not titled by the last file
    job_finish(job=job, status=Job.Status.SUCCEEDED, result={"files": []})
    done = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "lines.csv" not in done.split('id="job-status"', 1)[1].split("</p>", 1)[0]
