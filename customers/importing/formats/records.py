"""From cleaned columns to the values our tables hold: status, address parts, phone flags, identity, hashes."""

import hashlib
import re

from customers.models import STATUS_RANK, OrderStatus

from .identity import identity_key, is_masked, is_virtual_phone

_STATUSES = {
    "等待买家付款": OrderStatus.UNPAID,
    "等待买家确认货到付款订单信息": OrderStatus.UNPAID,
    "买家已付款，等待卖家发货": OrderStatus.PAID,
    "卖家部分发货": OrderStatus.PAID,
    "卖家已发货，等待买家确认": OrderStatus.SHIPPED,
    "卖家已发货，等待买家确认收货并付款": OrderStatus.SHIPPED,
    "买家已签收": OrderStatus.SHIPPED,
    "交易成功": OrderStatus.COMPLETED,
    "交易关闭": OrderStatus.CLOSED,
    "交易被淘宝关闭": OrderStatus.CLOSED,
}
RANK = {str(status): rank for status, rank in STATUS_RANK.items()}
_POSTCODE = re.compile(r"\((\d{6})\)$|（(\d{6})）$", re.ASCII)
# The longest phone a customer or address row holds (Customer.phone, CustomerAddress.phone).
PHONE_MAX = 20
_PHONE_LIST = re.compile(r"\s*[/,;，；、|]\s*")  # between the numbers of a cell listing several
_ONE_PHONE = re.compile(r"\+?[0-9*()][0-9*() \-]*", re.ASCII)  # digits, masked digits, area code, extension


def order_status(text: str) -> str:
    """The normalised status of a 订单状态 text (ASCII or full-width commas); OTHER when unknown."""
    return str(_STATUSES.get(text.replace(",", "，").replace(" ", ""), OrderStatus.OTHER))


def parse_address(text: str) -> tuple[str, str, str, str, str]:
    """`省 市 区 详细地址(邮编)` -> (province, city, district, detail, postcode); `(000000)` means no postcode."""
    postcode = ""
    match = _POSTCODE.search(text)
    if match:
        postcode = match.group(1) or match.group(2)
        text = text[: match.start()].rstrip()
        if postcode == "000000":
            postcode = ""
    parts = text.split(" ", 3)
    if len(parts) < 4:
        return "", "", "", text, postcode
    province, city, district, detail = parts
    return province[:20], city[:30], district[:30], detail.strip()[:255], postcode


def phone_facts(phone: str) -> tuple[bool, bool, str]:
    """(masked, virtual, last four digits) of a phone as exported. The tail of a virtual number is unknown."""
    masked = is_masked(phone)
    virtual = is_virtual_phone(phone)
    digits = "".join(ch for ch in phone if "0" <= ch <= "9") if not virtual else ""
    tail = digits[-4:] if len(digits) >= 4 and not (masked and phone.endswith("*")) else ""
    return masked, virtual, tail


def fitted_phone(value: str) -> tuple[str, str | None]:
    """A phone cell as a value of at most PHONE_MAX characters, and the warning when it had to change.

    A cell may list several numbers (`13933330006 / 13933330007`): the first is kept. A cell that holds no
    number short enough is not kept at all: cutting it to the column once stored a number with a wrong tail."""
    if len(value) <= PHONE_MAX:
        return value, None
    for pieces in (_PHONE_LIST.split(value), value.split()):
        first = pieces[0].strip()
        if first and len(first) <= PHONE_MAX and _ONE_PHONE.fullmatch(first):
            return first, f"more than one phone number in the cell: the first, {first}, is kept"
    return "", f"not a phone number of at most {PHONE_MAX} characters: not kept"


def phones_fit(c: dict[str, list]) -> list[tuple[int, str, str, str]]:
    """fitted_phone() over the mobile and telephone columns, in place. Returns (row, field, raw value, reason)
    for each cell that changed (the caller lists them as warnings)."""
    notes = []
    for name in ("mobile", "telephone"):
        column = c[name]
        if not column or max(map(len, column)) <= PHONE_MAX:  # the common case: no Python call per value
            continue
        for i, value in enumerate(column):
            if len(value) > PHONE_MAX:
                column[i], reason = fitted_phone(value)
                notes.append((i, name, value, reason))
    return sorted(notes)


def content_hash(*values) -> str:
    return _md5("\x1f".join(map(str, values)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def column_hashes(columns: list[list]) -> list[str]:
    """content_hash() of every row of these columns, column-wise (no Python call per value)."""
    texts = [list(map(str, col)) for col in columns]
    md5 = hashlib.md5
    rows = map("\x1f".join, zip(*texts, strict=True))
    return [md5(row.encode("utf-8"), usedforsecurity=False).hexdigest() for row in rows]


def prepare_orders(c: dict[str, list]) -> dict[str, list]:
    """Add the derived columns of orders: status, phone, address parts, customer identity and content hash."""
    statuses = {text: order_status(text) for text in set(c["status_text"])}
    c["status"] = [statuses[text] for text in c["status_text"]]
    c["phone_notes"] = phones_fit(c)  # never a phone cut to the column: the caller warns about these
    c["receiver_phone"] = [m or t for m, t in zip(c["mobile"], c["telephone"], strict=True)]
    # A buyer's orders repeat the same address and identity fields: each distinct value is worked out once.
    addresses: dict[str, tuple] = {}
    parts = [addresses.get(a) or addresses.setdefault(a, parse_address(a)) for a in c["receiver_address"]]
    for i, name in enumerate(("province", "city", "district", "detail", "postcode")):
        c[name] = [p[i] for p in parts]
    c["tracking_no"] = [t[3:].strip() if t.startswith("No:") else t for t in c["tracking_no"]]
    identities: dict[tuple, str | None] = {}
    keys = []
    for fields in zip(
        c["buyer_nick"], c["display_nick"], c["receiver_name"], c["receiver_phone"], c["province"], c["city"],
        c["district"], strict=True,
    ):
        if fields not in identities:
            nick, display, receiver, phone, province, city, district = fields
            identities[fields] = identity_key(
                buyer_nick=nick, display_nick=display, receiver_name=receiver, phone=phone, province=province,
                city=city, district=district,
            )
        keys.append(identities[fields])
    c["identity_key"] = keys
    c["content_hash"] = column_hashes([c[name] for name in ORDER_HASHED])
    c["source_hash"] = [""] * len(keys)  # only the set-based import knows the record (Order.source_hash)
    return c


# The imported fields whose change makes an order "updated"; the identity decides which customer it belongs to.
ORDER_HASHED = [
    "identity_key",
    "buyer_nick",
    "status",
    "status_text",
    "total_amount",
    "paid_amount",
    "shipping_fee",
    "refund_amount",
    "buyer_message",
    "seller_memo",
    "close_reason",
    "receiver_name",
    "receiver_phone",
    "receiver_address",
    "province",
    "city",
    "district",
    "postcode",
    "logistics_company",
    "tracking_no",
    "item_titles",
    "item_kinds",
    "item_quantity",
    "shop_name",
    "ordered_at",
    "paid_at",
    "shipped_at",
    "received_at",
]

LINE_HASHED = [
    "order_no",
    "product_key",
    "title",
    "merchant_code",
    "sku_properties",
    "package_info",
    "external_code",
    "list_price",
    "quantity",
    "paid_amount",
    "status_text",
    "refund_status",
    "refund_amount",
    "remark",
]

REFUND_HASHED = [
    "order_no",
    "title",
    "product_code",
    "paid_amount",
    "refund_amount",
    "status_text",
    "goods_status",
    "needs_return",
    "reason",
    "description",
    "phase",
    "scope",
    "applied_at",
    "finished_at",
    "return_tracking_no",
    "return_company",
    "seller_note",
]


def product_key(merchant_code: str, title: str) -> str:
    if merchant_code:
        return merchant_code[:200]
    return f"title:{title}"[:200] if title else ""
