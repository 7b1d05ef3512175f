"""An order number repeated within one file, also across its batches: the file remembers what it has had."""

import pytest

from customers.importing import import_files
from customers.importing.state import SeenOrders
from customers.models import Order

from .importing_fixtures import ORDER_HEADER, order_row, write_export


def test_seen_orders_finds_earlier_keys_and_takes_a_new_value_for_a_key_seen_again():
    seen = SeenOrders()
    big = 3003249668502739001
    seen.update({big: (7 << 40) | 5, 12: 9})

    assert seen.lookup([12, big, 13, 2**63]) == [9, (7 << 40) | 5, None, None]

    seen.update({big: ((2**48 - 1) << 40) | 6, 1: 1})

    assert len(seen) == 3
    assert seen.lookup([1, big, 12]) == [1, ((2**48 - 1) << 40) | 6, 9]


@pytest.mark.django_db
def test_an_order_repeated_in_a_later_batch_counts_as_a_duplicate_or_the_more_advanced_status_wins(tmp_path):
    # Given a file whose orders come back in later batches: once identical, once paid and later shipped
    paid = order_row(订单编号='="1001"')
    shipped = order_row(订单编号='="1002"', 订单状态="卖家已发货，等待买家确认")
    rows = [paid, order_row(订单编号='="1002"'), order_row(订单编号='="1003"'), paid, shipped]
    path = write_export(tmp_path / "ExportOrderList.csv", ORDER_HEADER, rows)

    # When it is imported two rows a batch
    [entry] = import_files([path], chunk_rows=2)["files"]

    # Then the identical row is a duplicate and the shipped row replaced the paid one, with a warning
    assert entry["orders_created"] == 3 and entry["duplicates"] == 1
    assert [w["value"] for w in entry["warnings"]] == ["1002"]
    assert Order.objects.get(order_no="1002").status == "shipped"
