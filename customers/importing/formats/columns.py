"""Which columns each kind of seller-centre export has, found by header name (with aliases), never by position.

Each field maps to the header names it may carry, in order of preference: when a file has several of them, the
first non-empty value wins (e.g. 商家备忘 over the older 订单备注). Columns not listed here are ignored, so new
layouts with extra columns import as long as the columns we need keep their names.
"""

from dataclasses import dataclass

ORDERS, LINES, REFUNDS = "orders", "lines", "refunds"


@dataclass(frozen=True)
class Field:
    name: str
    headers: tuple[str, ...]
    type: str = "text"  # id, text, money, int, datetime, phone, bool
    required: bool = False
    max_length: int | None = None


def _f(name, headers, type="text", required=False, max_length=None) -> Field:
    return Field(name, tuple(headers), type, required, max_length)


FIELDS: dict[str, list[Field]] = {
    ORDERS: [
        _f("order_no", ["订单编号", "主订单编号"], "id", required=True),
        _f("buyer_nick", ["买家会员名"], max_length=100),
        _f("display_nick", ["买家会员昵称"], max_length=100),
        _f("alipay_account", ["买家支付宝账号"], max_length=254),
        _f("status_text", ["订单状态"], required=True, max_length=60),
        _f("total_amount", ["总金额"], "money"),
        _f("paid_amount", ["买家实际支付金额"], "money"),
        _f("shipping_fee", ["买家应付邮费"], "money"),
        _f("refund_amount", ["退款金额"], "money"),
        _f("buyer_message", ["买家留言"]),
        _f("seller_memo", ["商家备忘", "订单备注"]),
        _f("close_reason", ["订单关闭原因"], max_length=100),
        _f("receiver_name", ["收货人姓名"], max_length=50),
        _f("receiver_address", ["收货地址"], max_length=400),
        _f("mobile", ["联系手机"], "phone", max_length=40),
        _f("telephone", ["联系电话"], "phone", max_length=40),
        _f("virtual_expires_at", ["虚拟号过期时间"], "datetime"),
        _f("ordered_at", ["订单创建时间"], "datetime", required=True),
        _f("paid_at", ["订单付款时间"], "datetime"),
        _f("shipped_at", ["发货时间"], "datetime"),
        _f("received_at", ["确认收货时间"], "datetime"),
        _f("item_titles", ["宝贝标题"]),
        _f("item_kinds", ["宝贝种类"], "int"),
        _f("item_quantity", ["宝贝总数量"], "int"),
        _f("logistics_company", ["物流公司"], max_length=60),
        _f("tracking_no", ["物流单号"], max_length=200),
        _f("shop_name", ["店铺名称"], max_length=100),
    ],
    LINES: [
        _f("line_no", ["子订单编号"], "id"),
        _f("order_no", ["主订单编号", "订单编号"], "id", required=True),
        _f("title", ["标题", "宝贝标题"], max_length=255),
        _f("list_price", ["价格"], "money"),
        _f("quantity", ["购买数量"], "int"),
        _f("external_code", ["外部系统编号"], max_length=100),
        _f("sku_properties", ["商品属性"], max_length=255),
        _f("package_info", ["套餐信息"], max_length=255),
        _f("remark", ["备注"], max_length=255),
        _f("status_text", ["订单状态"], max_length=60),
        _f("merchant_code", ["商家编码"], max_length=100),
        _f("paid_amount", ["买家实际支付金额"], "money"),
        _f("refund_status", ["退款状态"], max_length=60),
        _f("refund_amount", ["退款金额"], "money"),
    ],
    REFUNDS: [
        _f("refund_no", ["退款编号"], "id", required=True),
        _f("order_no", ["订单编号"], "id", required=True),
        _f("title", ["宝贝标题"], max_length=255),
        _f("product_code", ["商品编码"], max_length=100),
        _f("paid_amount", ["买家实际支付金额"], "money"),
        _f("refund_amount", ["买家退款金额"], "money"),
        _f("status_text", ["退款状态"], max_length=60),
        _f("goods_status", ["货物状态"], max_length=60),
        _f("needs_return", ["是否需要退货"], "bool"),
        _f("reason", ["买家退款原因"], max_length=200),
        _f("description", ["买家退款说明"]),
        _f("phase", ["售中或售后"], max_length=20),
        _f("scope", ["部分退款/全部退款"], max_length=20),
        _f("applied_at", ["退款的申请时间"], "datetime"),
        _f("finished_at", ["退款完结时间", "完结时间"], "datetime"),
        _f("return_tracking_no", ["退货物流单号"], max_length=100),
        _f("return_company", ["退货物流公司"], max_length=60),
        _f("seller_note", ["商家备注"]),
    ],
}

KIND_LABELS = {ORDERS: "订单报表", LINES: "宝贝报表", REFUNDS: "退款管理"}


def detect_kind(headers: list[str]) -> str | None:
    """Tell the kind of export from its (stripped) header names; None when it is none we know."""
    names = set(headers)
    if "退款编号" in names and "订单编号" in names:
        return REFUNDS
    if "购买数量" in names and ("标题" in names or "宝贝标题" in names) and names & {"订单编号", "主订单编号"}:
        return LINES
    if "订单编号" in names and names & {"订单状态", "买家会员名"} and names & {"收货地址", "买家实际支付金额"}:
        return ORDERS
    return None


def header_positions(kind: str, headers: list[str]) -> dict[str, list[int]]:
    """For each field of `kind`, the positions of the header columns that carry it, in preference order."""
    positions: dict[str, list[int]] = {}
    for field in FIELDS[kind]:
        found = [headers.index(h) for h in field.headers if h in headers]
        if found:
            positions[field.name] = found
    return positions
