"""Hostile or broken input to the import (issue 18): cut phones, orphan lines, rejected files, oversized fields and
workbooks. Each file's trouble is that file's entry; what could be imported is."""

import pytest

from customers.importing import import_files
from customers.models import Customer, Order

from .importing_fixtures import ORDER_HEADER, order_row, write_export

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
