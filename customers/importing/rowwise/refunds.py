"""Writing a batch of 退款 export rows: refunds, linked to their orders and customers."""

from customers.models import Order, OrderLine, Refund

from .. import sql
from ..formats.records import REFUND_HASHED, column_hashes
from ..repeats import REFUND_TWICE
from ..state import FileState, RunState
from .batches import columns_of, finish_batch

REFUND_COLUMNS = [
    ("refund_no", "text"),
    ("order_no", "text"),
    ("title", "text"),
    ("product_code", "text"),
    ("paid_amount", "numeric"),
    ("refund_amount", "numeric"),
    ("status_text", "text"),
    ("goods_status", "text"),
    ("needs_return", "boolean"),
    ("reason", "text"),
    ("description", "text"),
    ("phase", "text"),
    ("scope", "text"),
    ("applied_at", "local"),
    ("finished_at", "local"),
    ("return_tracking_no", "text"),
    ("return_company", "text"),
    ("seller_note", "text"),
    ("content_hash", "text"),
]


def write_refunds(c: dict, lines: list[int], state: FileState, run: RunState) -> None:
    summary = state.summary
    c["content_hash"] = column_hashes([c[name] for name in REFUND_HASHED])
    keep: dict[str, int] = {}
    for i, key in enumerate(c["refund_no"]):
        if key in keep and c["content_hash"][keep[key]] != c["content_hash"][i]:
            state.warn(lines[i], "退款编号", key, REFUND_TWICE.format(key=key))
        elif key in keep:
            summary["duplicates"] += 1
        keep[key] = i
    idx = sorted(keep.values(), key=lambda i: c["refund_no"][i])
    existing = dict(
        sql.fetch_in(
            f"SELECT refund_no, content_hash FROM {sql.table(Refund)} WHERE refund_no {{keys}}",
            [c["refund_no"][i] for i in idx],
        )
    )
    write = []
    for i in idx:
        old = existing.get(c["refund_no"][i])
        if old is None:
            summary["refunds_created"] += 1
        elif old == c["content_hash"][i]:
            summary["refunds_unchanged"] += 1
            continue
        else:
            summary["refunds_updated"] += 1
        write.append(i)
    affected: set = set()
    if write:
        sql.stage(
            "stg_refunds", REFUND_COLUMNS, by_column=columns_of(c, REFUND_COLUMNS, write), joined_on=("order_no",)
        )
        values = {name: f"s.{name}" for name, _ in REFUND_COLUMNS}
        for name, kind in REFUND_COLUMNS:
            if kind == "local":
                values[name] = sql.local_ts(f"s.{name}")
        values["order"] = "o.id"
        values["customer"] = "o.customer_id"
        update = [n for n in values if n != "refund_no"]
        rows = sql.upsert(
            Refund,
            source=f"stg_refunds s LEFT JOIN {sql.table(Order)} o ON o.order_no = s.order_no",
            values=values,
            conflict=["refund_no"],
            update=update,
            where="t.content_hash IS DISTINCT FROM excluded.content_hash",
            order_by="s.refund_no",
            returning="customer_id, order_id",
        )
        affected = {cid for cid, _ in rows if cid}
        summary["orphans"] += sum(1 for _, oid in rows if oid is None)
        refund_lines_link("stg_refunds")
    finish_batch(affected, summary, run)


def refund_lines_link(staged: str) -> int:
    """Link the refunds of the orders in the staged table `staged` (a table with an order_no column) to the order
    line they refund, where that is certain. Candidates, best first: the lines whose 商家编码 or 外部系统编号 equals
    the refund's 商品编码; else the lines whose title equals its 宝贝标题; else the order's only line. The refund is
    linked when exactly one line is best; otherwise it stays on its order alone. Run after every batch of orders,
    lines or refunds, since the three files may arrive in any order. Returns the number of refunds linked."""
    refunds, lines = sql.table(Refund), sql.table(OrderLine)
    return sql.execute(
        f"""
        UPDATE {refunds} SET line_id = m.line_id
          FROM (WITH candidate AS (
                    SELECT r.id AS refund_id, l.id AS line_id,
                           CASE WHEN r.product_code <> '' AND r.product_code IN (l.merchant_code, l.external_code)
                                THEN 1
                                WHEN r.title <> '' AND l.title = r.title THEN 2
                                WHEN NOT EXISTS (SELECT 1 FROM {lines} other
                                                  WHERE other.order_id = r.order_id AND other.id <> l.id) THEN 3
                           END AS preference
                      FROM {refunds} r
                      JOIN {lines} l ON l.order_id = r.order_id
                     WHERE r.line_id IS NULL AND r.order_no IN (SELECT order_no FROM {staged})),
                best AS (
                    SELECT refund_id, MIN(preference) AS preference FROM candidate GROUP BY refund_id)
                SELECT c.refund_id, MIN(c.line_id) AS line_id
                  FROM candidate c
                  JOIN best b ON b.refund_id = c.refund_id AND b.preference = c.preference
                 GROUP BY c.refund_id
                HAVING COUNT(*) = 1) m
         WHERE {refunds}.id = m.refund_id
        """
    )
