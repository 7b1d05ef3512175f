"""Recognising an order line across 宝贝报表 layouts.

The 2017 layout has no 子订单编号, so its lines are keyed by their order and their place in it (`<order>:<n>`);
later layouts key a line by its 子订单编号. The same orders exported in both layouts must still be stored once:

- a key-less row takes the key of a stored line of the same order with the same title, SKU properties, list
  price and quantity (the line's "signature"), whatever layout stored it; the columns its layout lacks (paid
  amount, refund state) keep what the database holds. Rows and stored lines with one signature pair in order:
  the k-th row of the file with the k-th stored line (by key) that no other row of this file took.
- a keyed row whose key is not stored adopts a stored key-less line of its order with the same signature: the
  line is re-keyed to the 子订单编号 (and updated with the row) instead of a second line being inserted.
- an unmatched key-less row gets the next free place in its order: <order>:<the highest stored n + 1, …>.
- a key-less row identical to an earlier one of the same file (same order, same content) is stored once and
  reported with both line numbers (keyed layouts recognise such a repeat by its key).

The row-by-row writer (lines.py) does this per batch, with one query for the batch's orders; the staged writer
(staged_lines.py) does the same set-based, with keyless_match_sql() and keyed_adopt_sql().
"""

from decimal import Decimal

from django.db import connection

from customers.models import Order, OrderLine

from .. import sql
from ..sql import execute
from ..state import FileState

SIGNATURE = ("title", "sku_properties", "list_price", "quantity")
# The 宝贝报表 columns a key-less (2017) layout lacks: a row that matches a stored line keeps its values.
KEPT = ("paid_amount", "refund_status", "refund_amount")
_STORED = ("line_key", "order_no", "title", "sku_properties", "list_price", "quantity", *KEPT)

REPEAT_REASON = "line {line} repeats line {first} of order {order} in this file; stored once"


def _money(value) -> str | None:
    """A stored amount spelled as cleaning.clean_money spells one."""
    return None if value is None else f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


def _stored_lines(order_nos: list[str]) -> list[dict]:
    """The stored lines of these orders, by key: through the order (indexed by order id), and the orphan lines
    by their order number (the partial index orderline_orphan_order_no)."""
    columns = ", ".join(f"t.{n}" for n in _STORED)
    lines, orders = sql.table(OrderLine), sql.table(Order)
    keys = sorted(set(order_nos))
    rows = sql.fetch_in(
        f"SELECT {columns} FROM {lines} t JOIN {orders} o ON o.id = t.order_id WHERE o.order_no {{keys}}", keys
    )
    rows += sql.fetch_in(f"SELECT {columns} FROM {lines} t WHERE t.order_id IS NULL AND t.order_no {{keys}}", keys)
    out = []
    for row in rows:
        line = dict(zip(_STORED, row, strict=True))
        for name in ("list_price", "paid_amount", "refund_amount"):
            line[name] = _money(line[name])
        out.append(line)
    out.sort(key=lambda line: line["line_key"])
    return out


def _signature(values: dict | None, c: dict | None = None, i: int = 0) -> tuple:
    if c is not None:
        return tuple(c[name][i] for name in SIGNATURE)
    return tuple(values[name] for name in SIGNATURE)


def _place(key: str) -> int:
    """n of a key-less line key <order>:<n> (0 for a 子订单编号)."""
    _, sep, n = key.partition(":")
    return int(n) if sep and n.isdigit() else 0


def keyless_repeats_drop(c: dict, lines: list[int], idx: list[int], state: FileState) -> list[int]:
    """The key-less rows of `idx` without those identical to an earlier row of the file (same order, same
    content hash): each of those is a duplicate, reported with both line numbers."""
    kept = []
    for i in idx:
        seen = (c["order_no"][i], c["content_hash"][i])
        first = state.keyless_seen.get(seen)
        if first is None:
            state.keyless_seen[seen] = lines[i]
            kept.append(i)
            continue
        state.summary["duplicates"] += 1
        no = c["order_no"][i]
        state.warn(lines[i], "订单编号", no, REPEAT_REASON.format(line=lines[i], first=first, order=no))
    return kept


def keyless_keys(c: dict, idx: list[int], keys: list, state: FileState, rehash) -> None:
    """Set keys[i] for the key-less rows `idx` (in file order): the key of the stored line they match, else the
    next free place in their order. A matched row takes the stored values of the columns its layout lacks and
    is hashed again with them (`rehash(i)`), so an unchanged line stays unchanged."""
    if not idx:
        return
    stored = _stored_lines([c["order_no"][i] for i in idx])
    highest: dict[str, int] = {}
    free: dict[tuple, list[dict]] = {}
    for line in stored:
        no = line["order_no"]
        highest[no] = max(highest.get(no, 0), _place(line["line_key"]))
        if line["line_key"] not in state.claimed:
            free.setdefault((no, _signature(line)), []).append(line)
    for i in idx:  # an order first met in this file numbers its new lines on from the highest stored place
        state.line_numbers.setdefault(c["order_no"][i], highest.get(c["order_no"][i], 0))
    absent = [name for name in KEPT if name not in state.present]
    for i in idx:
        no = c["order_no"][i]
        candidates = free.get((no, _signature(None, c, i)))
        if candidates:
            line = candidates.pop(0)
            keys[i] = line["line_key"]
            if absent:
                for name in absent:
                    c[name][i] = line[name]
                rehash(i)
        else:
            state.line_numbers[no] += 1
            keys[i] = f"{no}:{state.line_numbers[no]}"
        state.claimed.add(keys[i])


def keyed_adopt(c: dict, idx: list[int], keys: list, existing: dict) -> None:
    """The keyed rows of `idx` whose key is not stored: each adopts a stored key-less line of its order with the
    same signature, which is re-keyed to the row's 子订单编号 here; `existing` gets the adopted lines' hashes."""
    new = [i for i in idx if keys[i] not in existing]
    if not new:
        return
    free: dict[tuple, list[dict]] = {}
    for line in _stored_lines([c["order_no"][i] for i in new]):
        if _place(line["line_key"]):
            free.setdefault((line["order_no"], _signature(line)), []).append(line)
    if not free:
        return
    moves = []
    for i in new:
        candidates = free.get((c["order_no"][i], _signature(None, c, i)))
        if candidates:
            moves.append((candidates.pop(0)["line_key"], keys[i]))
    if not moves:
        return
    sql.stage("stg_line_adopt", [("old_key", "text"), ("new_key", "text")], moves)
    lines = sql.table(OrderLine)
    sql.execute(f"UPDATE {lines} SET line_key = s.new_key FROM stg_line_adopt s WHERE {lines}.line_key = s.old_key")
    existing.update(
        sql.fetch_in(f"SELECT line_key, content_hash FROM {lines} WHERE line_key {{keys}}", [new for _, new in moves])
    )


# --- the staged (set-based) twins -----------------------------------------------------------------------------------


def _sig_text(alias: str) -> list[str]:
    """The signature columns of `alias` as text, NULL as '' (so that NULL prices pair as None == None does)."""
    return [f"coalesce({alias}.{name}::text, '')" for name in SIGNATURE]


def _stored_sql(orders_of: str) -> str:
    """The stored lines of the orders whose numbers `orders_of` (a SELECT of order_no) gives: through the order,
    and the orphans by their order number, as _stored_lines reads them."""
    lines, orders = sql.table(OrderLine), sql.table(Order)
    columns = ", ".join(f"t.{n}" for n in _STORED)
    return (
        f"SELECT {columns} FROM {lines} t JOIN {orders} o ON o.id = t.order_id WHERE o.order_no IN ({orders_of}) "
        f"UNION ALL SELECT {columns} FROM {lines} t WHERE t.order_id IS NULL AND t.order_no IN ({orders_of})"
    )


def staged_keyless_repeats(ready: str, warn) -> tuple[list[int], int]:
    """keyless_repeats_drop over a staged file: the key-less rows identical to an earlier row of their order
    (each reported with `warn(line, order_no, reason)`), and how many key-less rows the file has."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {ready} WHERE line_no = ''")
        keyless = cursor.fetchone()[0]
        if not keyless:
            return [], 0
        cursor.execute(
            f"SELECT line, order_no, first_value(line) OVER (PARTITION BY order_no, content_hash ORDER BY line) "
            f"FROM {ready} r WHERE line_no = '' AND (order_no, content_hash) IN "
            f"(SELECT order_no, content_hash FROM {ready} WHERE line_no = '' GROUP BY 1, 2 HAVING count(*) > 1) "
            "ORDER BY line"
        )
        repeats = [(line, no, first) for line, no, first in cursor.fetchall() if line != first]
    for line, no, first in repeats:
        warn(line, no, REPEAT_REASON.format(line=line, first=first, order=no))
    return [line for line, _, _ in repeats], keyless


def staged_keyless_keys(keys: str, ready: str, winners: str, present: set, hashed) -> None:
    """keyless_keys over a staged file, in place on `ready`: each key-less row of `winners` takes the key of the
    stored line it pairs with (the k-th row of a signature in the file with the k-th stored line by key), else
    <order>:<highest stored place + its place among the order's unmatched rows>. A matched row takes the stored
    values of the columns its layout lacks, and its content hash again (`hashed(alias)`: the SQL expression).
    `keys`: the name of the work table to create."""
    sig_f, sig_s = _sig_text("r"), _sig_text("t")
    absent = [name for name in KEPT if name not in present]
    kept = "".join(f", t.{name}::text AS {name}" for name in absent)
    execute(
        f"""
        CREATE UNLOGGED TABLE {keys} AS
        WITH f AS (
            SELECT r.line, r.order_no, {', '.join(f'{e} AS s{j}' for j, e in enumerate(sig_f))},
                   row_number() OVER (PARTITION BY r.order_no, {', '.join(sig_f)} ORDER BY r.line) AS k
              FROM {winners} r WHERE r.line_no = ''
        ), stored AS ({_stored_sql(f"SELECT order_no FROM {winners} w WHERE w.line_no = ''")}),
        s AS (
            SELECT t.*, {', '.join(f'{e} AS s{j}' for j, e in enumerate(sig_s))},
                   row_number() OVER (PARTITION BY t.order_no, {', '.join(sig_s)} ORDER BY t.line_key COLLATE "C") AS k
              FROM stored t
        ), highest AS (
            SELECT order_no, max(CASE WHEN line_key ~ '^[0-9]+:[0-9]+$' THEN split_part(line_key, ':', 2)::bigint
                                 ELSE 0 END) AS place
              FROM stored GROUP BY order_no
        ), matched AS (
            SELECT f.line, t.line_key{kept}
              FROM f JOIN s t ON t.order_no = f.order_no AND t.k = f.k
                   AND {' AND '.join(f't.s{j} = f.s{j}' for j in range(len(SIGNATURE)))}
        )
        SELECT m.line, m.line_key{''.join(f', m.{n}' for n in absent)}, true AS found FROM matched m
        UNION ALL
        SELECT f.line, f.order_no || ':' || (coalesce(h.place, 0)
                   + row_number() OVER (PARTITION BY f.order_no ORDER BY f.line)),
               {''.join('NULL, ' for _ in absent)}false
          FROM f LEFT JOIN highest h ON h.order_no = f.order_no
         WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.line = f.line)
        """
    )
    refill = "".join(f", {n} = CASE WHEN k.found THEN k.{n} ELSE r.{n} END" for n in absent)
    execute(f"UPDATE {ready} r SET line_key = k.line_key{refill} FROM {keys} k WHERE k.line = r.line")
    if absent:
        execute(
            f"UPDATE {ready} r SET content_hash = {hashed('r')} FROM {keys} k "
            "WHERE k.line = r.line AND k.found"
        )


def staged_keyed_adopt(written: str) -> int:
    """keyed_adopt over a staged file: each new keyed line of `written` that pairs with a stored key-less line of
    its order (by signature, k-th with k-th) gets that line's key in `adopt_key` and becomes a change; the writer
    re-keys the stored line before its upsert (staged_lines._lines_write). Returns the lines adopted."""
    lines = sql.table(OrderLine)
    with connection.cursor() as cursor:
        # Cheap when no key-less line is stored (the common case): the scan stops at the first one it meets.
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {lines} WHERE line_key LIKE '%:%')")
        if not cursor.fetchone()[0]:
            return 0
    sig_f, sig_s = _sig_text("r"), _sig_text("t")
    new = f"SELECT order_no FROM {written} WHERE change = 'new' AND line_key NOT LIKE '%:%'"
    return execute(
        f"""
        WITH f AS (
            SELECT r.line, r.order_no, {', '.join(f'{e} AS s{j}' for j, e in enumerate(sig_f))},
                   row_number() OVER (PARTITION BY r.order_no, {', '.join(sig_f)} ORDER BY r.line) AS k
              FROM {written} r WHERE r.change = 'new' AND r.line_key NOT LIKE '%:%'
        ), s AS (
            SELECT t.line_key, t.order_no, {', '.join(f'{e} AS s{j}' for j, e in enumerate(sig_s))},
                   row_number() OVER (PARTITION BY t.order_no, {', '.join(sig_s)} ORDER BY t.line_key COLLATE "C") AS k
              FROM ({_stored_sql(new)}) t WHERE t.line_key LIKE '%:%'
        )
        UPDATE {written} w SET adopt_key = m.line_key, change = 'changed'
          FROM (SELECT f.line, t.line_key FROM f JOIN s t ON t.order_no = f.order_no AND t.k = f.k
                   AND {' AND '.join(f't.s{j} = f.s{j}' for j in range(len(SIGNATURE)))}) m
         WHERE w.line = m.line
        """
    )
