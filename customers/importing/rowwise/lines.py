"""Writing a batch of 宝贝报表 rows: order lines and the products they name."""

from customers.models import Order, OrderLine, Product

from .. import sql
from ..formats.records import LINE_HASHED, column_hashes, product_key
from ..repeats import LINE_TWICE
from ..state import FileState, RunState
from . import line_match
from .batches import columns_of, finish_batch
from .refunds import refund_lines_link

LINE_COLUMNS = [
    ("line_key", "text"),
    ("order_no", "text"),
    ("product_key", "text"),
    ("title", "text"),
    ("merchant_code", "text"),
    ("sku_properties", "text"),
    ("package_info", "text"),
    ("external_code", "text"),
    ("list_price", "numeric"),
    ("quantity", "integer"),
    ("paid_amount", "numeric"),
    ("status_text", "text"),
    ("refund_status", "text"),
    ("refund_amount", "numeric"),
    ("remark", "text"),
    ("content_hash", "text"),
    ("source_hash", "text"),  # blank here (row by row): see Order.source_hash
]


def _keys_resolve(c: dict, lines: list[int], state: FileState) -> tuple[list, list[int]]:
    """Each row's line key and content hash (filled into `c`), and the indexes of the rows to write: a key given
    twice keeps its later row (repeats.py)."""
    summary = state.summary
    n = len(lines)
    c["product_key"] = [product_key(m, t) for m, t in zip(c["merchant_code"], c["title"], strict=True)]
    c["content_hash"] = column_hashes([c[name] for name in LINE_HASHED])
    c["source_hash"] = [""] * n
    keys: list = [c["line_no"][i] or None for i in range(n)]
    keyed = [i for i in range(n) if keys[i]]
    # Layouts without 子订单编号: an identical repeated row is stored once; each row takes the key of the stored
    # line it matches (from any layout), else the next place in its order (line_match.py).
    keyless = line_match.keyless_repeats_drop(c, lines, [i for i in range(n) if not keys[i]], state)

    def rehash(i: int) -> None:
        c["content_hash"][i] = column_hashes([[c[name][i]] for name in LINE_HASHED])[0]

    line_match.keyless_keys(c, keyless, keys, state, rehash)
    c["line_key"] = keys
    keep: dict[str, int] = {}
    for i in sorted(keyed + keyless):
        key = keys[i]
        if key in keep and c["content_hash"][keep[key]] != c["content_hash"][i]:
            state.warn(lines[i], "子订单编号", key, LINE_TWICE.format(key=key))
        elif key in keep:
            summary["duplicates"] += 1
        keep[key] = i
    idx = sorted(keep.values(), key=lambda i: keys[i])
    return keys, idx


def write_lines(c: dict, lines: list[int], state: FileState, run: RunState) -> None:
    summary = state.summary
    keys, idx = _keys_resolve(c, lines, state)

    products = {}
    for i in idx:
        if c["product_key"][i] and c["product_key"][i] not in products:
            products[c["product_key"][i]] = (c["product_key"][i], c["merchant_code"][i], c["title"][i][:255])
    if products:
        known = {k for (k,) in sql.fetch_in(f"SELECT key FROM {sql.table(Product)} WHERE key {{keys}}", list(products))}
        new = sorted(v for k, v in products.items() if k not in known)
        if new:
            sql.stage("stg_products", [("key", "text"), ("merchant_code", "text"), ("title", "text")], new)
            sql.upsert(
                Product,
                source="stg_products s",
                conflict=["key"],
                update=None,
                order_by="s.key",
                values={"key": "s.key", "merchant_code": "s.merchant_code", "title": "s.title"},
            )
            summary["products_created"] += len(new)

    existing = dict(
        sql.fetch_in(
            f"SELECT line_key, content_hash FROM {sql.table(OrderLine)} WHERE line_key {{keys}}", [keys[i] for i in idx]
        )
    )
    # A new 子订单编号 adopts the stored key-less (2017) line it matches, instead of storing that line twice.
    line_match.keyed_adopt(c, [i for i in idx if c["line_no"][i]], keys, existing)
    write = []
    for i in idx:
        old = existing.get(keys[i])
        if old is None:
            summary["lines_created"] += 1
        elif old == c["content_hash"][i]:
            summary["lines_unchanged"] += 1
            continue
        else:
            summary["lines_updated"] += 1
        write.append(i)
    if write:
        staged = columns_of(c, LINE_COLUMNS, write)
        sql.stage("stg_lines", LINE_COLUMNS, by_column=staged, joined_on=("order_no", "product_key"))
        values = {name: f"s.{name}" for name, _ in LINE_COLUMNS if name != "product_key"}
        values["order"] = "o.id"
        values["product"] = "p.id"
        update = [n for n in values if n != "line_key"]
        written = sql.upsert(
            OrderLine,
            source=(  # joins, not a sub-select per row: a hash join over the batch
                f"stg_lines s LEFT JOIN {sql.table(Order)} o ON o.order_no = s.order_no "
                f"LEFT JOIN {sql.table(Product)} p ON p.key = s.product_key"
            ),
            values=values,
            conflict=["line_key"],
            update=update,
            where="t.content_hash IS DISTINCT FROM excluded.content_hash",
            order_by="s.line_key",
            returning="order_id, order_no",
        )
        # The order of each written line came back from the upsert's own join: no second look at the order
        # table per batch (at 1M orders each such join read the whole table). A line without one is an orphan;
        # the others' customers bought something new, which the segmentation after the import must see
        # (auto-tags by product, products bought): their ids are resolved once, after the file.
        order_ids = [order_id for (order_id, _) in written]
        summary["orphans"] += order_ids.count(None)
        orphaned = {order_no for order_id, order_no in written if order_id is None}
        state.warn_orphans((lines[i], c["order_no"][i]) for i in write if c["order_no"][i] in orphaned)
        run.batch_line_orders.extend(order_id for order_id in order_ids if order_id is not None)
        refund_lines_link("stg_lines")
    finish_batch(set(), summary, run)
