"""Writing a batch of 订单报表 rows: orders, their customers and shipping addresses, and orphan links."""

from decimal import Decimal

from customers.models import Customer, CustomerAddress, Order, OrderLine, Refund

from .. import sql
from ..formats.identity import is_masked
from ..formats.records import ORDER_HASHED, RANK, content_hash, parse_address
from ..repeats import order_repeat
from ..state import FileState, RunState
from .batches import STATUS_CODES, columns_of, finish_batch, local_text, note_order
from .buyers import ambiguous_report, customer_candidates, customers_upsert
from .refunds import refund_lines_link


def _pack(hash_hex: str, line: int, status: str) -> int:
    return (int(hash_hex[:12], 16) << 40) | (line << 4) | STATUS_CODES.index(status)


def _unpack(value: int) -> tuple[int, int, str]:
    return value >> 40, (value >> 4) & ((1 << 36) - 1), STATUS_CODES[value & 0xF]


def _dedupe_orders(c: dict, lines: list[int], state: FileState) -> list[int]:
    """Indexes of the rows to write. A repeated order number in one file: identical rows count as duplicates;
    different rows are reported, and the more advanced status (then the later row) wins."""
    keep: dict[str, int] = {}
    keys = [int(no) for no in c["order_no"]]
    earlier = state.seen.lookup(keys)  # from the file's previous batches
    batch: dict[int, int] = {}
    for i, no in enumerate(c["order_no"]):
        key = keys[i]
        packed = _pack(c["content_hash"][i], lines[i], c["status"][i])
        previous = batch.get(key, earlier[i])
        if previous is None:
            batch[key] = packed
            keep[no] = i
            continue
        old_hash, old_line, old_status = _unpack(previous)
        if old_hash == packed >> 40:
            state.summary["duplicates"] += 1
            continue
        new_wins, reason = order_repeat(no, c["status"][i], first_line=old_line, first_status=old_status)
        state.warn(lines[i], "订单编号", no, reason)
        if new_wins:
            batch[key] = packed
            keep[no] = i
    state.seen.update(batch)
    return sorted(keep.values(), key=lambda i: c["order_no"][i])


def _rank_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in RANK.items())
    return f"(CASE {column} {cases} ELSE 0 END)"


ORDER_COLUMNS = [
    ("order_no", "text"),
    ("customer_id", "bigint"),
    ("buyer_nick", "text"),
    ("status", "text"),
    ("status_text", "text"),
    ("total_amount", "numeric"),
    ("paid_amount", "numeric"),
    ("shipping_fee", "numeric"),
    ("refund_amount", "numeric"),
    ("buyer_message", "text"),
    ("seller_memo", "text"),
    ("close_reason", "text"),
    ("receiver_name", "text"),
    ("receiver_phone", "text"),
    ("receiver_address", "text"),
    ("province", "text"),
    ("city", "text"),
    ("district", "text"),
    ("postcode", "text"),
    ("logistics_company", "text"),
    ("tracking_no", "text"),
    ("item_titles", "text"),
    ("item_kinds", "integer"),
    ("item_quantity", "integer"),
    ("shop_name", "text"),
    ("ordered_at", "local"),
    ("paid_at", "local"),
    ("shipped_at", "local"),
    ("received_at", "local"),
    ("content_hash", "text"),
    ("source_hash", "text"),  # blank here (row by row): see Order.source_hash
]


# Where each order column comes from: a column whose source is missing from a file's layout keeps what the
# database holds (an older layout must not blank out 发货时间 that a newer export filled in).
_NOT_IMPORTED = ("order_no", "customer_id", "content_hash", "source_hash")
ORDER_SOURCES = {name: {name} for name, _ in ORDER_COLUMNS if name not in _NOT_IMPORTED}
ORDER_SOURCES.update(
    status={"status_text"},
    receiver_phone={"mobile", "telephone"},
    **{name: {"receiver_address"} for name in ("province", "city", "district", "postcode")},
)
# Buyer details a masked export hides: when the database has them unmasked for the same order, they stay.
MASKABLE = ["buyer_nick", "receiver_name", "receiver_phone", "receiver_address"]


def _canonical(value):
    """A value read back from the database, spelled as the cleaner spells it (for hashing and comparing)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if hasattr(value, "astimezone"):
        return local_text(value)
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"  # Decimal (PostgreSQL) or float (SQLite)


def _existing_orders(c: dict, idx: list[int], state: FileState) -> dict[str, dict]:
    """What the database holds for the batch's orders; fills the columns this layout lacks, keeps unmasked
    buyer details over masked ones, and re-hashes the rows it changed."""
    absent = [name for name, sources in ORDER_SOURCES.items() if not sources & state.present]
    masked = any(is_masked(c["buyer_nick"][i]) for i in idx)
    names = ["order_no", "content_hash", "status", "customer_id", "identity_key", *absent]
    names += [m for m in MASKABLE if masked and m not in names]
    columns = ", ".join(f"o.{n}" if n != "identity_key" else "cu.identity_key" for n in names)
    rows = sql.fetch_in(
        f"SELECT {columns} FROM {sql.table(Order)} o LEFT JOIN {sql.table(Customer)} cu ON cu.id = o.customer_id "
        "WHERE o.order_no {keys}",
        [c["order_no"][i] for i in idx],
    )
    existing = {row[0]: dict(zip(names, row, strict=True)) for row in rows}
    if not existing or not (absent or masked):
        return existing
    for i in idx:
        old = existing.get(c["order_no"][i])
        if old is None:
            continue
        for name in absent:
            c[name][i] = _canonical(old[name])
        if masked and is_masked(c["buyer_nick"][i]) and old["buyer_nick"] and not is_masked(old["buyer_nick"]):
            for name in MASKABLE:
                c[name][i] = old[name]
            parts = parse_address(old["receiver_address"])
            for j, name in enumerate(("province", "city", "district", "detail", "postcode")):
                c[name][i] = parts[j]
            if old["identity_key"]:
                c["identity_key"][i] = old["identity_key"]
        c["content_hash"][i] = content_hash(*(c[name][i] for name in ORDER_HASHED))
    return existing


def _unchanged(old: dict | None, c: dict, i: int) -> bool:
    return bool(
        old
        and old["content_hash"] == c["content_hash"][i]
        and old["customer_id"]
        and old["identity_key"] == c["identity_key"][i]
    )


def write_orders(c: dict, lines: list[int], state: FileState, run: RunState) -> None:
    summary = state.summary  # `c` comes prepared (runner._cleaned_chunks)
    idx = _dedupe_orders(c, lines, state)
    for i in idx:
        if c["identity_key"][i] is None:
            state.warn(lines[i], "买家会员名", "", "no buyer details: the order is imported without a customer")
    found = _existing_orders(c, idx, state)
    # An order already imported with this very content changes nothing, not even its customer (so a re-import
    # reads no customers, and does not undo a hand edit of the customer's contact details).
    same = {i for i in idx if _unchanged(found.get(c["order_no"][i]), c, i)}
    fresh = [i for i in idx if i not in same]
    customer_ids, created, updated_contact = customers_upsert(customer_candidates(c, fresh), run)
    summary["customers_created"] += created
    c["customer_id"] = [customer_ids.get(k) for k in c["identity_key"]]
    for i in same:
        c["customer_id"][i] = found[c["order_no"][i]]["customer_id"]
    ambiguous_report(c, fresh, lines, state)
    existing = {no: (o["content_hash"], o["status"], o["customer_id"]) for no, o in found.items()}
    write, affected = [], set()
    for i in idx:
        no = c["order_no"][i]
        old = existing.get(no)
        cid = c["customer_id"][i]
        if old is None:
            summary["orders_created"] += 1
            note_order(run, cid, no, created=True)
        elif old[0] == c["content_hash"][i] and old[2] == cid:
            summary["orders_unchanged"] += 1
            continue
        elif RANK[c["status"][i]] < RANK[old[1]]:
            summary["orders_unchanged"] += 1
            summary["orders_stale"] += 1  # an older export: the database already has a more advanced status
            continue
        else:
            summary["orders_updated"] += 1
            note_order(run, cid, no, created=False)
            if old[1] != c["status"][i] and cid:
                run.status_changes.setdefault(cid, []).append([no, old[1], c["status"][i]])
            if old[2]:
                affected.add(old[2])
                if cid and cid != old[2]:  # re-keyed (e.g. a masked buyer now seen unmasked): see rekeyed_merge
                    run.batch_rekeyed.append((old[2], cid))
        if cid:
            affected.add(cid)
        write.append(i)
    if write:
        sql.stage("stg_orders", ORDER_COLUMNS, by_column=columns_of(c, ORDER_COLUMNS, write), joined_on=("order_no",))
        values = {name: f"s.{name}" for name, _ in ORDER_COLUMNS}
        values["customer"] = values.pop("customer_id")
        for name, kind in ORDER_COLUMNS:
            if kind == "local":
                values[name] = sql.local_ts(f"s.{name}")
        update = [n if n != "customer_id" else "customer" for n, _ in ORDER_COLUMNS if n != "order_no"]
        where = (
            f"{_rank_sql('excluded.status')} >= {_rank_sql('t.status')} AND "
            "(t.content_hash IS DISTINCT FROM excluded.content_hash "
            "OR t.customer_id IS DISTINCT FROM excluded.customer_id)"
        )
        _upsert_orders(values, update, where, run)
        _upsert_addresses(c, write)
        link_orphans()
    finish_batch(affected, summary, run, contact_changed=updated_contact)


def _upsert_orders(values: dict, update: list[str], where: str, run: RunState) -> None:
    now = sql.timestamp_literal(run.now)
    sql.upsert(
        Order,
        source="stg_orders s",
        values={**values, "updated_at": now, "imported_at": now},
        conflict=["order_no"],
        update=[*update, "updated_at"],
        where=where,
        order_by="s.order_no",
    )


def _upsert_addresses(c: dict, write: list[int]) -> None:
    found: dict[tuple, list] = {}
    for i in write:
        cid = c["customer_id"][i]
        if not cid or not c["receiver_address"][i]:
            continue
        parts = (
            c["receiver_name"][i],
            c["receiver_phone"][i][:20],
            c["province"][i],
            c["city"][i],
            c["district"][i],
            c["detail"][i],
            c["postcode"][i],
        )
        at = c["ordered_at"][i]
        entry = found.get((cid, parts))
        if entry is None:  # hashed once per distinct address, not per order
            found[(cid, parts)] = [cid, content_hash(*parts)[:40], *parts, at, at]
        else:
            entry[-2] = min(entry[-2] or at, at or entry[-2])
            entry[-1] = max(entry[-1] or at, at or entry[-1])
    if not found:
        return
    types = {"customer_id": "bigint", "first_seen_at": "local", "last_seen_at": "local"}
    rows = sorted((tuple(v) for v in found.values()), key=lambda r: (r[0], r[1]))
    sql.stage("stg_addresses", [(n, types.get(n, "text")) for n in ADDRESS_COLUMNS], rows)
    addresses_upsert("stg_addresses s")


ADDRESS_COLUMNS = [
    "customer_id",
    "fingerprint",
    "receiver_name",
    "phone",
    "province",
    "city",
    "district",
    "detail",
    "postcode",
    "first_seen_at",
    "last_seen_at",
]


def addresses_upsert(source: str) -> None:
    """Upsert the addresses of `source` (a FROM clause aliased s with ADDRESS_COLUMNS, the sightings as shop-local
    timestamps): an address seen again keeps its earliest first and latest last sighting, in any file order."""
    values = {n: f"s.{n}" for n in ADDRESS_COLUMNS}
    values["customer"] = values.pop("customer_id")
    values["first_seen_at"] = sql.local_ts("s.first_seen_at")
    values["last_seen_at"] = sql.local_ts("s.last_seen_at")
    earliest = (
        "CASE WHEN t.first_seen_at IS NULL OR excluded.first_seen_at < t.first_seen_at "
        "THEN excluded.first_seen_at ELSE t.first_seen_at END"
    )
    latest = (
        "CASE WHEN t.last_seen_at IS NULL OR excluded.last_seen_at > t.last_seen_at "
        "THEN excluded.last_seen_at ELSE t.last_seen_at END"
    )
    sql.upsert(
        CustomerAddress,
        source=source,
        values=values,
        conflict=["customer", "fingerprint"],
        update=[("first_seen_at", earliest), ("last_seen_at", latest)],
        where=(
            "(excluded.first_seen_at < t.first_seen_at OR t.first_seen_at IS NULL "
            "OR excluded.last_seen_at > t.last_seen_at OR t.last_seen_at IS NULL)"
        ),
    )


def link_orphans() -> None:
    """Lines and refunds imported before their order (either file may come first) get linked now."""
    orders, lines, refunds = sql.table(Order), sql.table(OrderLine), sql.table(Refund)
    sql.execute(
        f"UPDATE {lines} SET order_id = o.id FROM {orders} o, stg_orders s "
        f"WHERE {lines}.order_id IS NULL AND {lines}.order_no = s.order_no AND o.order_no = s.order_no"
    )
    sql.execute(
        f"UPDATE {refunds} SET order_id = o.id, customer_id = o.customer_id FROM {orders} o, stg_orders s "
        f"WHERE {refunds}.order_no = s.order_no AND o.order_no = s.order_no "
        f"AND ({refunds}.order_id IS NULL OR {refunds}.customer_id IS DISTINCT FROM o.customer_id)"
    )
    refund_lines_link("stg_orders")
