"""Writing one cleaned batch to the database, set-based, in one transaction per batch (see runner.py).

Each batch: read what the database already holds for the batch's keys (one indexed query), decide in Python what
is new, changed or unchanged (by content hash and status rank), then stage only the new and changed rows and
upsert them with `INSERT … ON CONFLICT DO UPDATE … WHERE`. The WHERE repeats the rules (hash differs; the status
does not go backwards), so two imports racing on the same orders still end as if run one after the other: the
unique constraints and ON CONFLICT decide, never the Python pre-read.
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import (
    STATUS_RANK,
    Customer,
    CustomerAddress,
    Order,
    OrderLine,
    Product,
    Refund,
    TimelineEvent,
)
from customers.stats import customer_stats_refresh

from . import sql
from .identity import is_fallback, is_masked
from .records import (
    LINE_HASHED,
    ORDER_HASHED,
    RANK,
    REFUND_HASHED,
    column_hashes,
    content_hash,
    parse_address,
    phone_facts,
    prepare_orders,
    product_key,
)

MAX_LISTED = 500  # errors/warnings kept per file in the summary; the counts stay exact
STATUS_CODES = [str(s) for s in STATUS_RANK]


@dataclass
class FileState:
    """What one file's import remembers across its batches."""

    name: str
    kind: str
    summary: dict
    present: set = field(default_factory=set)  # the fields this file's layout has
    seen: dict = field(default_factory=dict)  # orders: int(order_no) -> packed (hash, line, status)
    line_numbers: dict = field(default_factory=dict)  # 2017 宝贝报表: order_no -> lines so far

    def warn(self, line: int, column: str, value: str, reason: str) -> None:
        self.summary["warning_count"] += 1
        if len(self.summary["warnings"]) < MAX_LISTED:
            self.summary["warnings"].append(
                {"file": self.name, "line": line, "column": column, "value": value, "reason": reason}
            )


@dataclass
class RunState:
    """What the whole import run remembers: for the timeline and for segmentation afterwards."""

    run_id: str
    now: object = None
    affected: set = field(default_factory=set)
    created_customers: set = field(default_factory=set)
    timeline: dict = field(default_factory=dict)  # customer id -> [created, updated, [sample order numbers]]
    status_changes: dict = field(default_factory=dict)  # customer id -> [[order_no, from, to], ...]


# --- orders --------------------------------------------------------------------------------------------------


def _pack(hash_hex: str, line: int, status: str) -> int:
    return (int(hash_hex[:12], 16) << 40) | (line << 4) | STATUS_CODES.index(status)


def _unpack(value: int) -> tuple[int, int, str]:
    return value >> 40, (value >> 4) & ((1 << 36) - 1), STATUS_CODES[value & 0xF]


def _dedupe_orders(c: dict, lines: list[int], state: FileState) -> list[int]:
    """Indexes of the rows to write. A repeated order number in one file: identical rows count as duplicates;
    different rows are reported, and the more advanced status (then the later row) wins."""
    keep: dict[str, int] = {}
    for i, no in enumerate(c["order_no"]):
        key = int(no)
        packed = _pack(c["content_hash"][i], lines[i], c["status"][i])
        previous = state.seen.get(key)
        if previous is None:
            state.seen[key] = packed
            keep[no] = i
            continue
        old_hash, old_line, old_status = _unpack(previous)
        if old_hash == packed >> 40:
            state.summary["duplicates"] += 1
            continue
        new_wins = RANK[c["status"][i]] >= RANK[old_status]
        kept = c["status"][i] if new_wins else old_status
        state.warn(
            lines[i],
            "订单编号",
            no,
            f"order {no} appears again with different content (first at line {old_line}); kept: {kept}",
        )
        if new_wins:
            state.seen[key] = packed
            keep[no] = i
    return sorted(keep.values(), key=lambda i: c["order_no"][i])


def _rank_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in RANK.items())
    return f"(CASE {column} {cases} ELSE 0 END)"


CONTACT = [
    "buyer_nick",
    "display_nick",
    "real_name",
    "phone",
    "phone_tail",
    "phone_is_masked",
    "phone_is_virtual",
    "phone_virtual_expires_at",
    "email",
    "wangwang",
    "province",
    "city",
    "district",
    "address",
    "postcode",
]


def _customer_candidates(c: dict, idx: list[int]) -> dict[str, dict]:
    """Per identity key, the contact details of its latest order in the batch."""
    latest: dict[str, int] = {}
    for i in idx:
        key = c["identity_key"][i]
        if key is None:
            continue
        j = latest.get(key)
        if j is None or (c["ordered_at"][i] or "") >= (c["ordered_at"][j] or ""):
            latest[key] = i
    out = {}
    for key, i in latest.items():
        phone = c["receiver_phone"][i][:20]
        masked, virtual, tail = phone_facts(phone)
        nick = c["buyer_nick"][i]
        alipay = c["alipay_account"][i]
        out[key] = {
            "buyer_nick": nick,
            "display_nick": c["display_nick"][i],
            "real_name": c["receiver_name"][i],
            "phone": phone,
            "phone_tail": tail,
            "phone_is_masked": masked,
            "phone_is_virtual": virtual,
            "phone_virtual_expires_at": c["virtual_expires_at"][i] if virtual else None,
            "email": alipay if "@" in alipay and not is_masked(alipay) and len(alipay) <= 254 else "",
            "wangwang": nick if nick and not is_masked(nick) else "",
            "province": c["province"][i],
            "city": c["city"][i],
            "district": c["district"][i],
            "address": c["detail"][i],
            "postcode": c["postcode"][i],
            "_at": c["ordered_at"][i],
        }
    return out


def _merge_contact(old: dict, new: dict) -> dict:
    """The contact details a customer should have after seeing `new` (from an order) on top of `old`."""
    merged = dict(old)
    newer = old["_at"] is None or (new["_at"] or "") >= old["_at"]
    for name in ("real_name", "email", "wangwang", "display_nick", "buyer_nick"):
        if not merged[name] or (newer and new[name] and name in ("display_nick", "buyer_nick")):
            merged[name] = new[name] or merged[name]
    if newer:
        old_phone_real = old["phone"] and not (old["phone_is_masked"] or old["phone_is_virtual"])
        new_phone_real = new["phone"] and not (new["phone_is_masked"] or new["phone_is_virtual"])
        if new["phone"] and (new_phone_real or not old_phone_real):
            for name in ("phone", "phone_tail", "phone_is_masked", "phone_is_virtual", "phone_virtual_expires_at"):
                merged[name] = new[name]
        if new["province"] and (not is_masked(new["address"]) or not old["address"] or is_masked(old["address"])):
            for name in ("province", "city", "district", "address", "postcode"):
                merged[name] = new[name]
    return merged


def _local(value) -> str | None:
    """A timestamp read back from the database as a shop-local 'YYYY-MM-DD HH:MM:SS' string. SQLite hands back
    naive UTC datetimes (or strings); PostgreSQL aware ones."""
    if value is None:
        return None
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=sql.UTC)
    return value.astimezone(sql.SHOP_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _upsert_customers(candidates: dict[str, dict], run: RunState) -> tuple[dict[str, int], int, set]:
    """Create or update the customers of a batch. Returns ({identity key: customer id}, created, updated)."""
    keys = sorted(candidates)
    cols = ", ".join(["identity_key", "id", "merged_into_id", "last_order_at", *CONTACT])
    existing = {}
    for row in sql.fetch_in(f"SELECT {cols} FROM {sql.table(Customer)} WHERE identity_key {{keys}}", keys):
        record = dict(zip(["identity_key", "id", "merged_into_id", "_at", *CONTACT], row, strict=True))
        record["_at"] = _local(record["_at"])
        record["phone_virtual_expires_at"] = _local(record["phone_virtual_expires_at"])
        record["phone_is_masked"], record["phone_is_virtual"] = (
            bool(record["phone_is_masked"]),
            bool(record["phone_is_virtual"]),
        )
        existing[row[0]] = record
    rows, created, updated = [], 0, set()
    for key in keys:
        new = candidates[key]
        old = existing.get(key)
        if old is None:
            values = new
            created += 1
        else:
            values = _merge_contact(old, new)
            if all(values[n] == old[n] for n in CONTACT):
                continue
            updated.add(old["merged_into_id"] or old["id"])
        rows.append((key, *(values[n] for n in CONTACT)))
    if rows:
        types = {"phone_is_masked": "boolean", "phone_is_virtual": "boolean", "phone_virtual_expires_at": "local"}
        sql.stage("stg_customers", [("identity_key", "text")] + [(n, types.get(n, "text")) for n in CONTACT], rows)
        values = {n: f"s.{n}" for n in ["identity_key", *CONTACT]}
        values["phone_virtual_expires_at"] = sql.local_ts("s.phone_virtual_expires_at")
        values["source"] = f"'{Customer.Source.IMPORT}'"
        changed = " OR ".join(f"t.{n} IS DISTINCT FROM excluded.{n}" for n in CONTACT)
        sql.upsert(
            Customer,
            source="stg_customers s",
            values=values,
            conflict=["identity_key"],
            update=[*CONTACT, "updated_at"],
            where=changed,
            order_by="s.identity_key",
        )
    ids = {}
    for key, cid, merged_into in sql.fetch_in(
        f"SELECT identity_key, id, merged_into_id FROM {sql.table(Customer)} WHERE identity_key {{keys}}", keys
    ):
        ids[key] = merged_into or cid  # a merged-away buyer's new orders go to the customer it was merged into
        if key not in existing:
            run.created_customers.add(cid)
    return ids, created, updated


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
]


# Where each order column comes from: a column whose source is missing from a file's layout keeps what the
# database holds (an older layout must not blank out 发货时间 that a newer export filled in).
ORDER_SOURCES = {name: {name} for name, _ in ORDER_COLUMNS if name not in ("order_no", "customer_id", "content_hash")}
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
        return _local(value)
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
    summary = state.summary
    prepare_orders(c)
    idx = _dedupe_orders(c, lines, state)
    for i in idx:
        if c["identity_key"][i] is None:
            state.warn(lines[i], "买家会员名", "", "no buyer details: the order is imported without a customer")
    found = _existing_orders(c, idx, state)
    # An order already imported with this very content changes nothing, not even its customer (so a re-import
    # reads no customers, and does not undo a hand edit of the customer's contact details).
    same = {i for i in idx if _unchanged(found.get(c["order_no"][i]), c, i)}
    fresh = [i for i in idx if i not in same]
    customer_ids, created, updated_contact = _upsert_customers(_customer_candidates(c, fresh), run)
    summary["customers_created"] += created
    c["customer_id"] = [customer_ids.get(k) for k in c["identity_key"]]
    for i in same:
        c["customer_id"][i] = found[c["order_no"][i]]["customer_id"]
    _report_ambiguous(c, fresh, lines, state)
    existing = {no: (o["content_hash"], o["status"], o["customer_id"]) for no, o in found.items()}
    write, affected = [], set()
    for i in idx:
        no = c["order_no"][i]
        old = existing.get(no)
        cid = c["customer_id"][i]
        if old is None:
            summary["orders_created"] += 1
            _note(run, cid, no, created=True)
        elif old[0] == c["content_hash"][i] and old[2] == cid:
            summary["orders_unchanged"] += 1
            continue
        elif RANK[c["status"][i]] < RANK[old[1]]:
            summary["orders_unchanged"] += 1
            summary["orders_stale"] += 1  # an older export: the database already has a more advanced status
            continue
        else:
            summary["orders_updated"] += 1
            _note(run, cid, no, created=False)
            if old[1] != c["status"][i] and cid:
                run.status_changes.setdefault(cid, []).append([no, old[1], c["status"][i]])
            if old[2]:
                affected.add(old[2])
        if cid:
            affected.add(cid)
        write.append(i)
    if write:
        rows = _rows(c, ORDER_COLUMNS, write)
        sql.stage("stg_orders", ORDER_COLUMNS, rows)
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
        _link_orphans()
    _finish_batch(affected, summary, run, contact_changed=updated_contact)


def _rows(c: dict, columns: list[tuple[str, str]], index: list[int]) -> list[tuple]:
    """The staged rows: the given columns at the given row indexes, built column-wise at C speed."""
    if not index:
        return []
    pick = itemgetter(*index)
    picked = [pick(c[name]) for name, _ in columns]
    if len(index) == 1:
        picked = [(value,) for value in picked]
    return list(zip(*picked, strict=True))


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


def _note(run: RunState, cid, no: str, *, created: bool) -> None:
    if not cid:
        return
    entry = run.timeline.setdefault(cid, [0, 0, []])
    entry[0 if created else 1] += 1
    if len(entry[2]) < 10:
        entry[2].append(no)


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
        fingerprint = content_hash(*parts)[:40]
        at = c["ordered_at"][i]
        entry = found.get((cid, fingerprint))
        if entry is None:
            found[(cid, fingerprint)] = [cid, fingerprint, *parts, at, at]
        else:
            entry[-2] = min(entry[-2] or at, at or entry[-2])
            entry[-1] = max(entry[-1] or at, at or entry[-1])
    if not found:
        return
    names = [
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
    types = {"customer_id": "bigint", "first_seen_at": "local", "last_seen_at": "local"}
    rows = sorted((tuple(v) for v in found.values()), key=lambda r: (r[0], r[1]))
    sql.stage("stg_addresses", [(n, types.get(n, "text")) for n in names], rows)
    values = {n: f"s.{n}" for n in names}
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
    sql.upsert(  # an address seen again keeps its earliest first and latest last sighting, in any file order
        CustomerAddress,
        source="stg_addresses s",
        values=values,
        conflict=["customer", "fingerprint"],
        update=[("first_seen_at", earliest), ("last_seen_at", latest)],
        where=(
            "(excluded.first_seen_at < t.first_seen_at OR t.first_seen_at IS NULL "
            "OR excluded.last_seen_at > t.last_seen_at OR t.last_seen_at IS NULL)"
        ),
    )


def _link_orphans() -> None:
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


def _report_ambiguous(c: dict, idx: list[int], lines: list[int], state: FileState) -> None:
    """A fallback customer that shares masked member name and nickname with a different fallback customer."""
    groups: dict[tuple, set] = {}
    first_line: dict[str, tuple] = {}
    for i in idx:
        key = c["identity_key"][i]
        if is_fallback(key):
            pair = (c["buyer_nick"][i], c["display_nick"][i])
            groups.setdefault(pair, set()).add(key)
            first_line.setdefault(key, (lines[i], c["order_no"][i]))
    if not groups:
        return
    nicks = sorted({p[0] for p in groups})
    for key, nick, display in sql.fetch_in(
        f"SELECT identity_key, buyer_nick, display_nick FROM {sql.table(Customer)} "
        "WHERE identity_key LIKE 'fb:%%' AND buyer_nick {keys}",
        nicks,
    ):
        if (nick, display) in groups:
            groups[(nick, display)].add(key)
    for (nick, display), keys in groups.items():
        if len(keys) < 2:
            continue
        for key in sorted(keys):
            if key not in first_line or key in state.summary["_ambiguous_seen"]:
                continue
            state.summary["_ambiguous_seen"].add(key)
            line, order_no = first_line[key]
            state.summary["ambiguous_count"] += 1
            if len(state.summary["ambiguous_customers"]) < MAX_LISTED:
                state.summary["ambiguous_customers"].append(
                    {
                        "file": state.name,
                        "line": line,
                        "order_no": order_no,
                        "identity_key": key,
                        "buyer_nick": nick,
                        "display_nick": display,
                        "similar": sorted(keys - {key})[:5],
                        "reason": "masked buyer: same member name and nickname as another customer, but a different "
                        "receiver, phone or region; kept apart (merge by hand if they are one person)",
                    }
                )


# --- lines ---------------------------------------------------------------------------------------------------

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
]


def write_lines(c: dict, lines: list[int], state: FileState, run: RunState) -> None:
    summary = state.summary
    n = len(lines)
    keys = []
    for i in range(n):
        if c["line_no"][i]:
            keys.append(c["line_no"][i])
        else:  # layouts without 子订单编号: the line's position within its order in this file
            no = c["order_no"][i]
            count = state.line_numbers.get(no, 0) + 1
            state.line_numbers[no] = count
            keys.append(f"{no}:{count}")
    c["line_key"] = keys
    c["product_key"] = [product_key(m, t) for m, t in zip(c["merchant_code"], c["title"], strict=True)]
    c["content_hash"] = column_hashes([c[name] for name in LINE_HASHED])
    keep: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in keep and c["content_hash"][keep[key]] != c["content_hash"][i]:
            state.warn(lines[i], "子订单编号", key, f"line {key} appears twice in this file; the later row wins")
        elif key in keep:
            summary["duplicates"] += 1
        keep[key] = i
    idx = sorted(keep.values(), key=lambda i: keys[i])

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
        sql.stage("stg_lines", LINE_COLUMNS, _rows(c, LINE_COLUMNS, write))
        values = {name: f"s.{name}" for name, _ in LINE_COLUMNS if name != "product_key"}
        values["order"] = "o.id"
        values["product"] = "p.id"
        update = [n for n in values if n != "line_key"]
        sql.upsert(
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
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM stg_lines s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {sql.table(Order)} o WHERE o.order_no = s.order_no)"
            )
            orphans = cursor.fetchone()[0]
        summary["orphans"] += orphans
    _finish_batch(set(), summary, run)


# --- refunds -------------------------------------------------------------------------------------------------

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
        sql.stage("stg_refunds", REFUND_COLUMNS, _rows(c, REFUND_COLUMNS, write))
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
    _finish_batch(affected, summary, run)


# --- after every batch ---------------------------------------------------------------------------------------


def _finish_batch(affected: set, summary: dict, run: RunState, contact_changed: set = frozenset()) -> None:
    """Derived figures and the timeline for the customers this batch touched, in the batch's transaction."""
    if affected or contact_changed:
        changed = customer_stats_refresh(customer_ids=sorted(affected)) if affected else []
        existing_changed = (set(changed) | contact_changed) - run.created_customers - summary["_customers_counted"]
        summary["customers_updated"] += len(existing_changed)
        summary["_customers_counted"].update(existing_changed)
        run.affected.update(affected)
    _write_timeline(affected, run)


def _write_timeline(affected: set, run: RunState) -> None:
    rows = []
    for cid in sorted(affected):
        entry = run.timeline.get(cid)
        if entry:
            created, updated, sample = entry
            summary = _("Order import: %(created)d new, %(updated)d updated orders") % {
                "created": created,
                "updated": updated,
            }
            data = {"import": run.run_id, "created": created, "updated": updated, "orders": sample}
            rows.append((cid, "order_imported", summary, json.dumps(data, ensure_ascii=False), f"import:{run.run_id}"))
        changes = run.status_changes.get(cid)
        if changes:
            summary = _("Order status changed: %(count)d orders") % {"count": len(changes)}
            data = {"import": run.run_id, "changes": changes[:20], "count": len(changes)}
            rows.append(
                (cid, "order_status_changed", summary, json.dumps(data, ensure_ascii=False), f"status:{run.run_id}")
            )
    if not rows:
        return
    names = [
        ("customer_id", "bigint"),
        ("kind", "text"),
        ("summary", "text"),
        ("data", "jsonb"),
        ("dedupe_key", "text"),
    ]
    sql.stage("stg_timeline", names, rows)
    now_expr = sql.timestamp_literal(run.now)
    sql.upsert(
        TimelineEvent,
        source="stg_timeline s",
        conflict=["customer", "dedupe_key"],
        update=["summary", "data"],
        values={
            "customer": "s.customer_id",
            "kind": "s.kind",
            "summary": "s.summary",
            "data": sql.json_expr("s.data"),
            "dedupe_key": "s.dedupe_key",
            "occurred_at": now_expr,
        },
        where="t.data IS DISTINCT FROM excluded.data",
        order_by="s.customer_id",
    )
