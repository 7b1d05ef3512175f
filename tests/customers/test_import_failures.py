"""A database failure in the middle of an import: whole batches land or none of a batch does, and the summary
says what landed."""

import pytest
from django.db import connection

from customers.importing import import_files
from customers.models import Customer, Order, TimelineEvent

from .importing_fixtures import ORDER_HEADER, order_row, write_export


@pytest.fixture
def order_insert_fails_for():
    """A trigger that makes PostgreSQL refuse one order number: a real database failure, no mock."""

    def install(order_no: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION refuse_order() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.order_no = '{order_no}' THEN RAISE EXCEPTION 'disk full (simulated)'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER refuse_order BEFORE INSERT ON customers_order "
                "FOR EACH ROW EXECUTE FUNCTION refuse_order()"
            )

    return install


@pytest.fixture(params=["row by row", "staged"])
def import_path(request, settings, monkeypatch):
    """Both import paths: row by row in batches of 10, or set-based (staged.py) in slices of 10 lines."""
    from customers.importing.staged import staging as staged

    staged_path = request.param == "staged"
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES = 0 if staged_path else 1 << 62
    monkeypatch.setattr(staged, "SLICE_ROWS", 10)
    return request.param


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_database_failure_mid_import_keeps_whole_batches_and_reports_what_landed(
    tmp_path, order_insert_fails_for, import_path
):
    # Given 30 orders of 30 buyers, read in batches of 10, and a database that fails on the 15th order
    rows = [order_row(订单编号=f'="{5000000000000000000 + n}"', 买家会员名=f"tb_{n}") for n in range(30)]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)
    order_insert_fails_for("5000000000000000014")

    # When the file is imported
    summary = import_files([path], chunk_rows=10)

    # Then the first batch landed whole, nothing of the failing batch (not even its customers), and the summary
    # says where it stopped
    [entry] = summary["files"]
    assert entry["status"] == "failed" and summary["status"] == "partial"
    assert "rows from line 12 to 21" in entry["reason"] and "disk full (simulated)" in entry["reason"]
    assert entry["landed_through_line"] == 11
    assert entry["orders_created"] == 10 and entry["customers_created"] == 10
    assert Order.objects.count() == 10 and Customer.objects.count() == 10
    # and the customers of the batch that landed still got their figures and timeline after the failure
    assert sorted(Customer.objects.values_list("order_count", flat=True)) == [1] * 10
    assert summary["customer_ids"] == sorted(Customer.objects.values_list("id", flat=True))
    assert TimelineEvent.objects.filter(kind="order_imported").count() == 10


@pytest.mark.django_db
def test_a_too_long_phone_is_a_row_error_not_a_database_failure(tmp_path):
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, [order_row(联系手机="1" * 41), order_row()])

    [entry] = import_files([path])["files"]

    assert entry["status"] == "ok" and [e["column"] for e in entry["errors"]] == ["联系手机"]
