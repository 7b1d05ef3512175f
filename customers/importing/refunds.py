"""Writing a batch of 退款 export rows: refunds, linked to their orders and customers."""

from customers.models import Order, Refund

from . import sql
from .batches import FileState, RunState, finish_batch, rows_of
from .records import REFUND_HASHED, column_hashes

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
            state.warn(lines[i], "退款编号", key, f"refund {key} appears twice in this file; the later row wins")
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
        sql.stage("stg_refunds", REFUND_COLUMNS, rows_of(c, REFUND_COLUMNS, write), joined_on=("order_no",))
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
    finish_batch(affected, summary, run)
