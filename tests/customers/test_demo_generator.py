"""The demo shop generator writes exports in the seller centre's real layouts (customers/demo.py).

The expected headers below are copied from the samples in tests/fixtures/samples (v2017 and v2023), byte for byte,
trailing spaces included: the generator must never drift from them.
"""

import csv
from collections import Counter
from datetime import datetime
from decimal import Decimal

import pytest

from customers.demo import SHANGHAI, demo_exports_write

END = datetime(2024, 3, 31, 15, 30, tzinfo=SHANGHAI)


def names(text: str) -> list[str]:
    return text.split(",")


V2023_ORDER_HEADER = names(
    "订单编号,买家会员名,买家会员昵称,支付单号,支付详情,买家应付货款,买家应付邮费,买家支付积分,总金额,"
    "返点积分,买家实际支付金额,买家实际支付积分,订单状态,买家留言,收货人姓名,收货地址 ,运送方式,"
    "联系电话 ,联系手机,虚拟号过期时间,订单创建时间,订单付款时间 ,宝贝标题 ,宝贝种类 ,物流单号 ,物流公司,"
    "订单备注,宝贝总数量,店铺Id,店铺名称,订单关闭原因,卖家服务费,买家服务费,发票抬头,是否手机订单,"
    "分阶段订单信息,特权订金订单id,是否上传合同照片,是否上传小票,是否代付,定金排名,修改后的sku,"
    "修改后的收货地址,异常信息,天猫卡券抵扣,集分宝抵扣,是否是O2O交易,新零售交易类型,新零售导购门店名称,"
    "新零售导购门店id,新零售发货门店名称,新零售发货门店id,退款金额,预约门店,确认收货时间,打款商家金额,"
    "含应开票给个人的个人红包,是否信用购,体验期结束时间,前N有礼,配送类型,直播返现状态,返现金额,"
    "延迟发货自动赔付金额,新零售成交门店昵称,新零售成交门店id,新零售成交经销商id,预售订单,发货时间,"
    "商家备忘,主订单编号"
)
V2023_LINE_HEADER = names(
    "子订单编号,主订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码,"
    "支付单号,买家应付货款,买家实际支付金额,退款状态,退款金额,订单创建时间,订单付款时间,商品id,"
    "分阶段订单信息,主订单备注,主订单买家留言,发货时间,物流单号,物流公司,是否赔付,赔付金额,赔付出账时间"
)
V2017_ORDER_HEADER = names(
    "订单编号,买家会员名,买家支付宝账号,买家应付货款,买家应付邮费,买家支付积分,总金额,返点积分,"
    "买家实际支付金额,买家实际支付积分,订单状态,买家留言,收货人姓名,收货地址 ,运送方式,联系电话 ,"
    "联系手机,订单创建时间,订单付款时间 ,宝贝标题 ,宝贝种类 ,物流单号 ,物流公司,订单备注,宝贝总数量,"
    "店铺Id,店铺名称,订单关闭原因,卖家服务费,买家服务费,发票抬头,是否手机订单,分阶段订单信息,"
    "特权订金订单id,是否上传合同照片,是否上传小票,是否代付,定金排名,修改后的sku,修改后的收货地址,"
    "异常信息,天猫卡券抵扣,集分宝抵扣,是否是O2O交易,退款金额,预约门店"
)
V2017_LINE_HEADER = names("订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码")
REFUND_HEADER_START = names("订单编号,退款编号,支付宝交易号,订单付款时间,商品编码,退款完结时间,买家实际支付金额")


def read_rows(path) -> list[list[str]]:
    with open(path, encoding="gb18030", newline="") as f:
        return list(csv.reader(f))


def as_dicts(path) -> list[dict[str, str]]:
    header, *rows = read_rows(path)
    return [dict(zip(header, row, strict=False)) for row in rows]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return demo_exports_write(directory=tmp_path_factory.mktemp("shop"), orders=1500, buyers=300, seed=11, end=END)


def test_it_writes_the_v2023_order_and_line_headers_of_the_real_exports(shop):
    # given a generated shop (fixture)
    # when the files are read back in GB18030
    orders, lines = read_rows(shop.orders_path), read_rows(shop.lines_path)

    # then the headers are those of the seller centre, trailing spaces included
    assert orders[0] == V2023_ORDER_HEADER
    assert lines[0] == V2023_LINE_HEADER
    assert read_rows(shop.refunds_path)[0][:7] == REFUND_HEADER_START
    assert len(read_rows(shop.refunds_path)[0]) == 42


def test_it_names_the_files_as_the_seller_centre_does(shop):
    assert shop.orders_path.name == "ExportOrderList202403311530.csv"
    assert shop.lines_path.name == "ExportOrderDetailList202403311530.csv"
    assert shop.refunds_path.name == "RefundExport202403311530.csv"


def test_every_field_is_double_quoted_and_ids_are_excel_formulas(shop):
    # given the raw bytes of the order file
    raw = shop.orders_path.read_bytes()

    # then it is GBK without a BOM, with CRLF line ends
    assert not raw.startswith(b"\xef\xbb\xbf")
    first_row = raw.split(b"\r\n")[1].decode("gb18030")
    assert raw.count(b"\r\n") == shop.orders + 1

    # and the order number is written `="…"` while the other fields are quoted
    assert first_row.startswith('="')
    fields = next(csv.reader([first_row]))
    assert fields[0].startswith('="') and fields[0].endswith('"')
    assert first_row.count('","') >= 60
    assert fields[36] == '=""'  # 特权订金订单id, an empty formula as in the samples


def test_order_numbers_are_unique_17_to_19_digit_text(shop):
    orders = as_dicts(shop.orders_path)
    numbers = [row["订单编号"][2:-1] for row in orders]

    assert len(set(numbers)) == shop.orders
    assert all(number.isdigit() and 17 <= len(number) <= 19 for number in numbers)
    assert all(row["主订单编号"] == row["订单编号"] for row in orders)


def test_it_writes_the_requested_number_of_orders_and_buyers(shop):
    orders = as_dicts(shop.orders_path)

    assert len(orders) == 1500
    assert len({row["买家会员名"] for row in orders}) == 300 == shop.buyers
    # most buyers order once; some come back often
    per_buyer = Counter(row["买家会员名"] for row in orders)
    assert Counter(per_buyer.values())[1] > 100
    assert max(per_buyer.values()) >= 10


def test_the_line_file_adds_up_to_the_order_file(shop):
    # given both files
    orders = {row["订单编号"]: row for row in as_dicts(shop.orders_path)}
    lines = as_dicts(shop.lines_path)

    # then every line belongs to an order, and kinds, quantities and goods amounts agree
    assert len(lines) == shop.lines
    by_order: dict[str, list[dict]] = {}
    for line in lines:
        by_order.setdefault(line["主订单编号"], []).append(line)
    assert set(by_order) == set(orders)
    for order_no, order_lines in by_order.items():
        order = orders[order_no]
        assert int(order["宝贝种类 "]) == len(order_lines)
        assert int(order["宝贝总数量"]) == sum(int(line["购买数量"]) for line in order_lines)
        assert Decimal(order["买家应付货款"]) == sum(Decimal(line["买家应付货款"]) for line in order_lines)
        assert order["宝贝标题 "] == "，".join(line["标题"] for line in order_lines)
        assert Decimal(order["总金额"]) == Decimal(order["买家应付货款"]) + Decimal(order["买家应付邮费"])
    assert len({line["子订单编号"] for line in lines}) == len(lines)


def test_statuses_are_mostly_completed_with_some_closed_unpaid_and_shipped(shop):
    statuses = Counter(row["订单状态"] for row in as_dicts(shop.orders_path))

    assert statuses["交易成功"] > 0.7 * shop.orders
    assert statuses["交易关闭"] > 0
    assert statuses["卖家已发货，等待买家确认"] + statuses["买家已付款，等待卖家发货"] > 0
    assert set(statuses) <= {"交易成功", "交易关闭", "交易被淘宝关闭", "等待买家付款", "买家已付款，等待卖家发货",
                             "卖家已发货，等待买家确认"}  # fmt: skip


def test_unpaid_orders_have_no_payment_time_and_paid_orders_have_one(shop):
    for row in as_dicts(shop.orders_path):
        if row["订单关闭原因"] == "买家未付款" or row["订单状态"] == "等待买家付款":
            assert row["订单付款时间 "] == "" and row["支付单号"] == "" and row["买家实际支付金额"] == "0.00"
        else:
            assert row["订单付款时间 "] >= row["订单创建时间"]
            assert row["支付单号"].startswith('="')


def test_dates_lie_within_two_years_before_the_export_in_shanghai_time(shop):
    created = [datetime.strptime(row["订单创建时间"], "%Y-%m-%d %H:%M:%S") for row in as_dicts(shop.orders_path)]

    assert max(created) <= END.replace(tzinfo=None)
    assert min(created) >= datetime(2022, 3, 31)
    assert created == sorted(created, reverse=True)  # newest first, as the seller centre lists them


def test_addresses_are_province_city_district_detail_and_postcode(shop):
    for row in as_dicts(shop.orders_path)[:200]:
        province, city, district, rest = row["收货地址 "].split(" ", 3)
        assert province and city.endswith("市") and district
        assert rest.endswith(")") and rest[-8] == "(" and rest[-7:-1].isdigit()


def test_refunds_point_at_orders_in_the_order_file(shop):
    orders = {row["订单编号"]: row for row in as_dicts(shop.orders_path)}
    refunds = as_dicts(shop.refunds_path)

    assert len(refunds) == shop.refunds > 0
    assert all(refund["订单编号"] in orders for refund in refunds)
    assert len({refund["退款编号"] for refund in refunds}) == len(refunds)


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    first = demo_exports_write(directory=tmp_path / "a", orders=300, seed=5, end=END)
    again = demo_exports_write(directory=tmp_path / "b", orders=300, seed=5, end=END)
    other = demo_exports_write(directory=tmp_path / "c", orders=300, seed=6, end=END)

    for a, b, c in zip(first.paths, again.paths, other.paths, strict=True):
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() != c.read_bytes()


def test_masked_exports_hide_buyer_names_phones_and_addresses(tmp_path):
    shop = demo_exports_write(directory=tmp_path, orders=200, seed=3, end=END, masked=True)

    for row in as_dicts(shop.orders_path):
        assert "**" in row["买家会员名"]
        assert "*" in row["收货人姓名"]
        assert "****" in row["收货地址 "]
        assert "****" in row["联系手机"] or ("-" in row["联系手机"] and row["虚拟号过期时间"])


def test_the_2017_layout_has_46_order_columns_and_a_stray_comma_after_each_line(tmp_path):
    shop = demo_exports_write(directory=tmp_path, orders=100, seed=3, end=END, layout="v2017", refunds=False)

    orders, lines = read_rows(shop.orders_path), read_rows(shop.lines_path)
    assert orders[0] == V2017_ORDER_HEADER
    assert {len(row) for row in orders} == {46}
    assert lines[0] == V2017_LINE_HEADER
    assert {len(row) for row in lines[1:]} == {11}  # one field more than the header
    assert all(row[16].startswith("'1") for row in orders[1:])  # phones kept text with an apostrophe
    assert shop.refunds_path is None


def test_an_unknown_layout_is_refused(tmp_path):
    with pytest.raises(ValueError, match="layout"):
        demo_exports_write(directory=tmp_path, orders=1, layout="v1999")
