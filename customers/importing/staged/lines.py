"""The set-based writer of a staged 宝贝报表 (see staged.py), with the rules of lines.write_lines: the line key
(子订单编号, or for a key-less layout the stored line it matches or a new place in its order: line_match.py), the
product, the content hash, a line given twice in the file (the later row wins; different content is reported; an
identical key-less row is reported with both lines), a new 子订单编号 adopting a stored key-less line, products
created, lines written only when new or changed, orphans (lines of orders not imported yet) counted."""

from django.db import connection

from customers.models import Order, OrderLine, Product

from .. import sql
from ..formats.columns import FIELDS, LINES
from ..formats.records import LINE_HASHED
from ..repeats import LINE_TWICE
from ..rowwise import line_match
from ..rowwise.refunds import refund_lines_link
from ..sql import execute, fetch
from ..state import MAX_LISTED, RunState
from .staging import (
    Raced,
    Staging,
    dropped_create,
    good_rows,
    in_transaction,
    landed_through,
    repeated_rows,
    slices,
    slices_in_order,
)


def prepare_staged_lines(staging: Staging) -> None:
    """What needs no other table: line keys, content hashes, repeated lines, the products the file names. Runs
    ahead, on another connection, while the run's 订单报表 is written (ahead.py)."""
    ready = _ready_create(staging)
    dropped = _duplicates_resolve(staging, ready)
    winners = f"(SELECT r.* FROM {ready} r WHERE NOT EXISTS (SELECT 1 FROM {dropped} d WHERE d.line = r.line))"
    staging.prepared.update(ready=ready, winners=winners, products=_products_named(staging, winners))


def compare_staged_lines(staging: Staging) -> None:
    """The lines compared with the line table, and the new and changed ones with their order ids: reads only.
    Runs ahead, on another connection, once the run's orders are written, while their figures and timeline
    are (ahead.py); the writer does it itself otherwise. A line a concurrent import writes meanwhile is
    handled as in the writer's own gap between comparing and writing (Raced, ON CONFLICT)."""
    if staging.prepared["keyless"]:  # their keys: the stored lines they match, or new places in their orders
        line_match.staged_keyless_keys(
            staging.table("linekeys"), staging.prepared["ready"], staging.prepared["winners"],
            staging.state.present, _hashed,
        )
    compared = _compare(staging, staging.prepared["winners"])
    staging.prepared["compared"] = compared
    counts = _changes(compared)
    if counts.get("new") or counts.get("changed"):
        # The orders just written may not be in the order table's statistics yet (ahead, the run's ANALYZE of
        # it comes later): a plan for a table taken as empty would be far off. The key column only: ~20 ms.
        execute(f"ANALYZE {sql.table(Order)} (order_no)")
        staging.prepared["written"] = _written_create(staging, staging.prepared["ready"], compared)
        if counts.get("new"):  # a new 子订单编号 adopts the stored key-less line it matches (line_match.py)
            staging.prepared["adopted"] = line_match.staged_keyed_adopt(staging.prepared["written"])


def write_staged_lines(staging: Staging, run: RunState) -> None:
    summary = staging.state.summary
    ready = staging.prepared["ready"]
    summary["products_created"] += _products_create(staging, staging.prepared["products"], lines=_span(ready))
    if "compared" not in staging.prepared:
        compare_staged_lines(staging)
    counts = _changes(staging.prepared["compared"])
    summary["lines_unchanged"] += counts.get("same", 0)
    staging.moved(0.55)
    if counts.get("new") or counts.get("changed"):
        written = staging.prepared["written"]
        parts = slices(staging, f"SELECT line FROM {written}")
        adopted = bool(staging.prepared.get("adopted"))
        landed = 0

        def write_slice(low, high, before_commit) -> tuple[int, int]:
            result: list[int] = []  # lines created, updated

            def work(plain=True):
                if adopted:
                    _adopted_rekey(written, low, high)
                result[:] = _lines_write(written, low, high, plain=plain)

            # New lines (not in the table when compared) go in with a plain INSERT; should a concurrent import
            # have written some since, the slice is written again with ON CONFLICT.
            try:
                in_transaction(staging, work, lines=(low, high), raced=True, before_commit=before_commit)
            except Raced:
                in_transaction(staging, lambda: work(plain=False), lines=(low, high), before_commit=before_commit)
            return result[0], result[1]

        def committed(low, high, result) -> None:
            nonlocal landed
            summary["lines_created"] += result[0]
            summary["lines_updated"] += result[1]
            summary["landed_through_line"] = high
            landed += sum(result)
            staging.moved(0.55 + 0.4 * (parts.index((low, high)) + 1) / len(parts))

        slices_in_order(staging, parts, write_slice, committed)
        # a line a concurrent import wrote with this very content meanwhile was left as it was
        summary["lines_unchanged"] += counts.get("new", 0) + counts.get("changed", 0) - landed
        in_transaction(staging, lambda: _orphans_link(written), lines=_span(ready))
        orphans = fetch(  # the first MAX_LISTED listed as warnings; all counted
            f"SELECT w.line, w.order_no, count(*) OVER () FROM {written} w WHERE w.order_id IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {sql.table(Order)} o WHERE o.order_no = w.order_no) ORDER BY w.line LIMIT {MAX_LISTED}"
        )
        summary["orphans"] += orphans[0][2] if orphans else 0
        staging.state.warn_orphans((line, order_no) for line, order_no, _ in orphans)
        summary["warning_count"] += (orphans[0][2] - len(orphans)) if orphans else 0  # the ones not listed
        # Their buyers bought something new: the segmentation after the import must see it (auto-tags, products).
        run.affected.update(
            cid
            for (cid,) in fetch(
                f"SELECT customer_id FROM {written} WHERE customer_id IS NOT NULL UNION "
                f"SELECT o.customer_id FROM {written} w JOIN {sql.table(Order)} o ON o.order_no = w.order_no "
                "WHERE w.order_id IS NULL AND o.customer_id IS NOT NULL"
            )
        )
        in_transaction(staging, lambda: refund_lines_link(ready), lines=_span(ready))
    summary["landed_through_line"] = landed_through(staging)


def _ready_create(staging: Staging) -> str:
    """The good rows with their line key, product key and content hash (records.LINE_HASHED, as Python spells
    each value)."""
    ready = staging.table("ready")
    execute(
        f"""
        CREATE UNLOGGED TABLE {ready} AS
        SELECT x.*, {_hashed("x")} AS content_hash FROM (
            SELECT c.*,
                   CASE WHEN c.line_no <> '' THEN c.line_no ELSE c.order_no || ':' || k.place END AS line_key,
                   CASE WHEN c.merchant_code <> '' THEN left(c.merchant_code, 200)
                        WHEN c.title <> '' THEN left('title:' || c.title, 200) ELSE '' END AS product_key
              FROM (SELECT line, source_hash, {', '.join(f.name for f in FIELDS[LINES])} FROM {staging.clean} c
                     WHERE {good_rows(staging)}) c
              LEFT JOIN (SELECT line, row_number() OVER (PARTITION BY order_no ORDER BY line) AS place
                           FROM {staging.clean} c WHERE {good_rows(staging)} AND c.line_no = '') k
                ON k.line = c.line
        ) x
        """
    )
    execute(f"ANALYZE {ready}")
    return ready


def _hashed(alias: str) -> str:
    """The content hash of a line of `alias` (records.LINE_HASHED, as Python spells each value)."""
    return "md5(concat_ws(E'\\x1f', " + ", ".join(f"coalesce({alias}.{n}::text, 'None')" for n in LINE_HASHED) + "))"


def _duplicates_resolve(staging: Staging, ready: str) -> str:
    """A line key given more than once: the later row wins; each row that differs from the one before it is
    reported, each that repeats it is a duplicate (lines.write_lines). Returns the table of the lines left out."""
    state = staging.state
    rows = repeated_rows(staging, f"{ready} o", "line_key", "o.line_key, o.line, o.content_hash")
    losers, warnings = [], []
    for i, (key, line, digest) in enumerate(rows):
        before = rows[i - 1] if i and rows[i - 1][0] == key else None
        if before is None:
            continue
        losers.append(before[1])
        if before[2] != digest:
            warnings.append((line, key))
        else:
            state.summary["duplicates"] += 1
    for line, key in sorted(warnings):
        state.warn(line, "子订单编号", key, LINE_TWICE.format(key=key))
    # Layouts without 子订单编号: a row identical to an earlier one of its order is stored once (line_match.py).
    repeats, staging.prepared["keyless"] = line_match.staged_keyless_repeats(
        ready, lambda line, no, reason: state.warn(line, "订单编号", no, reason)
    )
    state.summary["duplicates"] += len(repeats)
    return dropped_create(staging, losers + repeats)


def _products_named(staging: Staging, winners: str) -> str:
    """Each product key the file names, with the code and title of its first line (in line-key order)."""
    named = staging.table("products")
    # The first line key per product by a hash aggregate, then those lines: a DISTINCT ON sorted every line of
    # the file for the few products it names (3.1 s against 0.5 s per 1.35M lines). Line keys are unique here.
    execute(
        f"CREATE UNLOGGED TABLE {named} AS SELECT w.product_key AS key, w.merchant_code, "
        f"left(w.title, 255) AS title FROM {winners} w JOIN (SELECT f.product_key, min(f.line_key COLLATE \"C\") "
        f"AS line_key FROM {winners} f WHERE f.product_key <> '' GROUP BY f.product_key) first "
        "ON first.product_key = w.product_key AND first.line_key = w.line_key"
    )
    return named


def _products_create(staging: Staging, named: str, *, lines) -> int:
    """The products not known yet."""
    created: list = []

    def work():
        created.extend(
            sql.upsert(
                Product,
                source=f"{named} s",
                values={"key": "s.key", "merchant_code": "s.merchant_code", "title": "s.title"},
                conflict=["key"],
                update=None,
                order_by="s.key",
                returning="1",
            )
        )

    in_transaction(staging, work, lines=lines)
    return len(created)


def _changes(compared: str) -> dict[str, int]:
    """{change: lines} of the compared table (a change no line has is left out)."""
    return dict(fetch(f"SELECT change, count(*) FROM {compared} GROUP BY change"))


def _compare(staging: Staging, winners: str) -> str:
    """(line, change): new, changed or same, against the lines the database holds."""
    compared = staging.table("compared")
    execute(
        f"CREATE UNLOGGED TABLE {compared} AS SELECT w.line, CASE WHEN t.id IS NULL THEN 'new' "
        f"WHEN t.content_hash = w.content_hash THEN 'same' ELSE 'changed' END AS change "
        f"FROM {winners} w LEFT JOIN {sql.table(OrderLine)} t ON t.line_key = w.line_key"
    )
    execute(f"ANALYZE {compared}")
    return compared


_COLUMNS = ["line_key", "order_no", "title", "merchant_code", "sku_properties", "package_info", "external_code",
            "list_price", "quantity", "paid_amount", "status_text", "refund_status", "refund_amount", "remark",
            "content_hash", "source_hash"]


def _written_create(staging: Staging, ready: str, compared: str) -> str:
    """The new and changed lines with their order ids, found once for the whole file (per slice, each lookup
    read the whole order table again). A line whose order is not there yet stays an orphan until
    _orphans_link, after the slices, looks again. Product ids are looked up per slice (_lines_write): this
    may run before the file's products are created."""
    written = staging.table("written")
    execute(
        f"CREATE UNLOGGED TABLE {written} AS SELECT r.line, k.change, "
        + ", ".join(f"r.{name}" for name in _COLUMNS)
        + f", r.product_key, o.id AS order_id, o.customer_id, NULL::text AS adopt_key FROM {ready} r "
        f"JOIN {compared} k ON k.line = r.line AND k.change <> 'same' "
        f"LEFT JOIN {sql.table(Order)} o ON o.order_no = r.order_no"
    )
    execute(f"ANALYZE {written} (line, order_id)")
    return written


def _adopted_rekey(written: str, low: int, high: int) -> None:
    """The stored key-less lines the slice's new 子订单编号 adopted (line_match.staged_keyed_adopt) take that key,
    in the slice's transaction: its upsert then updates them instead of inserting them again."""
    execute(
        f"UPDATE {sql.table(OrderLine)} t SET line_key = w.line_key FROM {written} w "
        f"WHERE w.line BETWEEN {low} AND {high} AND w.adopt_key IS NOT NULL AND t.line_key = w.adopt_key"
    )


def _lines_write(written: str, low: int, high: int, *, plain: bool) -> tuple[int, int]:
    """The slice's new and changed lines; with `plain`, the new ones by a plain INSERT. Returns the lines
    created and updated."""
    values = {name: f"s.{name}" for name in _COLUMNS}
    for name in ("list_price", "paid_amount", "refund_amount"):
        values[name] = f"s.{name}::numeric"
    values["order"] = "s.order_id"
    values["product"] = "s.product_id"
    rows = (
        f"SELECT w.*, p.id AS product_id FROM {written} w LEFT JOIN {sql.table(Product)} p ON p.key = w.product_key "
        f"WHERE w.line BETWEEN {low} AND {high}"
    )
    created = 0
    if plain:
        created = len(sql.upsert(OrderLine, source=f"({rows} AND w.change = 'new') s", values=values,
                                 conflict=None, update=None, order_by="s.line_key", returning="1"))
        rows += " AND w.change <> 'new'"
    upserted = sql.upsert(
        OrderLine,
        source=f"({rows}) s",
        values=values,
        conflict=["line_key"],
        update=[n for n in values if n != "line_key"],
        where="t.content_hash IS DISTINCT FROM excluded.content_hash",
        order_by="s.line_key",
        returning="(t.xmax = 0)",
    )
    inserted = sum(1 for (new,) in upserted if new)
    return created + inserted, len(upserted) - inserted


def _orphans_link(written: str) -> None:
    """The file's lines written without their order whose order is there now (a concurrent import wrote it
    after _written_create looked): linked, as orders.link_orphans links them when the order comes later."""
    lines, orders = sql.table(OrderLine), sql.table(Order)
    execute(
        f"UPDATE {lines} l SET order_id = o.id FROM {orders} o "
        f"WHERE l.order_id IS NULL AND o.order_no = l.order_no "
        f"AND l.order_no IN (SELECT w.order_no FROM {written} w WHERE w.order_id IS NULL)"
    )


def _span(ready: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(min(line), 0), coalesce(max(line), 0) FROM {ready}")
        return cursor.fetchone()
