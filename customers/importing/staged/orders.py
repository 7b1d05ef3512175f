"""The set-based writer of a staged 订单报表 (see staged.py): derive, de-duplicate, sort into lanes, write.

Every order row goes one of three ways:
- new: an order number the database does not have, of a buyer it does not have either (or of no buyer): the
  bulk of a first import. Customers, orders and addresses are written set-based; a new customer is created with
  the details of its latest order and its figures already computed, so it is written once, not twice.
- unchanged: the database has the order with this very content and buyer: the bulk of a re-import. Counted.
- the rest (changed orders, new orders of known buyers): the row-by-row writer (orders.write_orders), in batches,
  which owns the finer rules (status precedence, columns an older layout lacks, masked values over unmasked ones,
  contact details merged into a known customer).
"""

import logging
from enum import StrEnum

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from customers.models import Customer, Order, Refund
from customers.stats import PAID_STATUSES

from .. import sql
from ..formats.columns import FIELDS, ORDERS
from ..formats.identity import identity_key
from ..formats.records import _STATUSES, ORDER_HASHED, PHONE_MAX, prepare_orders
from ..repeats import order_repeat
from ..rowwise.batches import warn_phones, write_batch
from ..rowwise.buyers import ambiguous_report
from ..rowwise.orders import ORDER_COLUMNS, _rank_sql, addresses_upsert, link_orphans, write_orders
from ..sql import execute, fetch, scalar
from ..state import FileState, RunState
from . import sqlclean
from .staging import (
    Contended,
    Raced,
    StagedFailure,
    Staging,
    dropped_create,
    good_rows,
    in_transaction,
    landed_through,
    repeated_rows,
    slices,
    slices_in_order,
    statistics_keep_up,
    timed,
)

log = logging.getLogger(__name__)

PYTHON_BATCH = 50_000
VIRTUAL_PHONE = r"^[0-9]{11}-[0-9]{3,4}$"
_WS = sqlclean.WHITESPACE.replace("'", "''")


class Lane(StrEnum):
    """The way an order row goes (the module's docstring); the value is what the lanes table stores."""

    NEW = "a"  # order and buyer both new: written set-based
    UNCHANGED = "b"  # the database has this very content and buyer: counted
    REST = "c"  # the rest: the row-by-row writer


def write_staged_orders(staging: Staging, run: RunState) -> None:
    state = staging.state
    with timed("derive"):
        ready = _ready_create(staging)
    orders = f"{ready} o"
    dropped = _duplicates_resolve(staging, orders)
    lanes = _lanes_create(staging, orders, dropped)
    counts = dict(fetch(f"SELECT lane, count(*) FROM {lanes} GROUP BY lane"))
    state.summary["orders_unchanged"] += counts.get(Lane.UNCHANGED, 0)
    staging.moved(0.55)
    if counts.get(Lane.NEW):
        _new_orders_write(staging, run, orders, lanes)
    staging.moved(0.85)
    if counts.get(Lane.REST):
        before = set(state.affected)
        try:
            _rest_write(staging, run, lanes)
        finally:  # also when a later batch failed: those that landed gave them more orders, so recompute
            state.figured -= state.affected - before
    state.summary["landed_through_line"] = landed_through(staging)


# --- derive --------------------------------------------------------------------------------------------------------


def _ready_create(staging: Staging) -> str:
    """The good rows with the derived columns of records.prepare_orders (status, phone, address parts, tracking
    number without `No:`), their identity key and ORDER_HASHED content hash: one flat pass (parallel workers
    can share it), the address parts from a table of the file's distinct addresses (a buyer's orders repeat
    theirs: each is split once)."""
    addresses = _addresses_parse(staging)
    statuses = " ".join(f"WHEN '{text}' THEN '{status}'" for text, status in _STATUSES.items())
    derived = {
        "status": f"(CASE replace(replace(c.status_text, ',', '，'), ' ', '') {statuses} ELSE 'other' END)",
        "receiver_phone": "(CASE WHEN c.mobile <> '' THEN c.mobile ELSE c.telephone END)",
        "tracking_no": f"(CASE WHEN c.tracking_no LIKE 'No:%' THEN {sqlclean.stripped('substr(c.tracking_no, 4)')} "
        "ELSE c.tracking_no END)",
        **{name: f"coalesce(a.{name}, '')" for name in ("province", "city", "district", "detail", "postcode")},
    }
    derived["detail"] = "coalesce(a.detail, c.receiver_address)"
    phone = derived["receiver_phone"]
    stable_phone = f"(CASE WHEN {phone} ~ '{VIRTUAL_PHONE}' THEN '' ELSE {phone} END)"
    parts = [
        "c.buyer_nick", "c.display_nick", "c.receiver_name", stable_phone,
        derived["province"], derived["city"], derived["district"],
    ]
    nick_key = "(CASE WHEN c.buyer_nick <> '' AND strpos(c.buyer_nick, '*') = 0 THEN 'nick:' || c.buyer_nick END)"
    nobody = f"(c.buyer_nick = '' AND c.display_nick = '' AND c.receiver_name = '' AND {stable_phone} = '')"
    joins = f"LEFT JOIN {addresses} a ON a.address = c.receiver_address"
    if _sha1_in_sql():
        fallback = f"'fb:' || encode(digest(concat_ws(E'\\x1f', {', '.join(parts)}), 'sha1'), 'hex')"
        identity = f"coalesce({nick_key}, CASE WHEN NOT {nobody} THEN {fallback} END)"
    else:
        fallback_table = _fallback_keys_create(staging, joins, parts, nick_key)
        joins += f" LEFT JOIN {fallback_table} f ON f.digest = md5(concat_ws(E'\\x1f', {', '.join(parts)}))"
        identity = f"coalesce({nick_key}, f.identity_key)"
    fields = [f.name for f in FIELDS[ORDERS]]
    values = {name: derived.get(name, f"c.{name}") for name in [*fields, *derived]}
    values["identity_key"] = identity
    values["source_hash"] = "c.source_hash"
    hashed = ", ".join(f"coalesce(({values[name]})::text, 'None')" for name in ORDER_HASHED)
    ready = staging.table("ready")
    execute(
        f"CREATE UNLOGGED TABLE {ready} AS SELECT c.line, "
        f"{', '.join(f'{expr} AS {name}' for name, expr in values.items())}, "
        f"md5(concat_ws(E'\\x1f', {hashed})) AS content_hash "
        f"FROM {staging.clean} c {joins} WHERE {good_rows(staging)}"
    )
    execute(f"ANALYZE {ready} (line, order_no, identity_key)")
    return ready


def _addresses_parse(staging: Staging) -> str:
    """records.parse_address of each distinct 收货地址: `省 市 区 详细地址(邮编)`, `(000000)` for no postcode."""
    table = staging.table("addresses")
    address = "d.address"
    tail = f"right({address}, 8)"
    has_postcode = f"({tail} ~ '^(\\([0-9]{{6}}\\)|（[0-9]{{6}}）)$')"
    body = f"(CASE WHEN {has_postcode} THEN rtrim(left({address}, -8), '{_WS}') ELSE {address} END)"
    postcode = f"(CASE WHEN {has_postcode} AND substr({tail}, 2, 6) <> '000000' THEN substr({tail}, 2, 6) ELSE '' END)"
    split = (
        f"SELECT e.address, e.postcode, e.body, string_to_array(e.body, ' ') AS parts FROM ("
        f"SELECT {address}, {body} AS body, {postcode} AS postcode FROM "
        f"(SELECT DISTINCT receiver_address AS address FROM {staging.clean} c WHERE {good_rows(staging)}) d "
        "OFFSET 0) e OFFSET 0"
    )
    four = "cardinality(s.parts) >= 4"
    execute(
        f"CREATE UNLOGGED TABLE {table} AS SELECT s.address, s.postcode, "
        f"CASE WHEN {four} THEN left(s.parts[1], 20) ELSE '' END AS province, "
        f"CASE WHEN {four} THEN left(s.parts[2], 30) ELSE '' END AS city, "
        f"CASE WHEN {four} THEN left(s.parts[3], 30) ELSE '' END AS district, "
        f"CASE WHEN {four} THEN left(btrim(array_to_string(s.parts[4:], ' '), '{_WS}'), 255) ELSE s.body END AS detail "
        f"FROM ({split}) s"
    )
    execute(f"ANALYZE {table}")
    return table


def _sha1_in_sql() -> bool:
    """Whether pgcrypto's digest() is there (created if we may): identity keys of masked buyers are SHA-1
    (identity.py). Without it they are worked out in Python, one per distinct buyer. Asked every time: the
    extension may come and go with a transaction (tests)."""
    if scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'"):
        return True
    try:
        with transaction.atomic():
            execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        return True
    except DatabaseError:
        return False


def _fallback_keys_create(staging: Staging, joins: str, parts: list[str], nick_key: str) -> str:
    """Without pgcrypto: identity.identity_key() of each distinct masked buyer, in Python, staged as
    md5(parts) → key."""
    table = staging.table("fallback")
    execute(f"CREATE UNLOGGED TABLE {table} (digest text PRIMARY KEY, identity_key text)")
    rows = fetch(
        f"SELECT DISTINCT md5(concat_ws(E'\\x1f', {', '.join(parts)})), ARRAY[{', '.join(parts)}] "
        f"FROM {staging.clean} c {joins} WHERE {good_rows(staging)} AND {nick_key} IS NULL"
    )
    if rows:
        names = ("buyer_nick", "display_nick", "receiver_name", "phone", "province", "city", "district")
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for digest, values in rows:
                copy.write_row((digest, identity_key(**dict(zip(names, values, strict=True)))))
        execute(f"ANALYZE {table}")
    return table


# --- de-duplicate and sort into lanes ------------------------------------------------------------------------------


def _duplicates_resolve(staging: Staging, orders: str) -> str:
    """Order numbers the file has more than once, resolved as orders._dedupe_orders does, row after row: the same
    content again is a duplicate; different content is reported, and the more advanced status (then the later
    row) wins. Returns the table of the lines left out."""
    state = staging.state
    rows = repeated_rows(staging, orders, "order_no", "o.order_no, o.line, o.content_hash, o.status")
    losers, warnings = [], []
    winner = None
    for no, line, digest, status in rows:
        if winner is None or winner[0] != no:
            winner = (no, line, digest, status)
            continue
        if winner[2][:12] == digest[:12]:  # the row-by-row path compares 48-bit hash prefixes
            state.summary["duplicates"] += 1
            losers.append(line)
            continue
        new_wins, reason = order_repeat(no, status, first_line=winner[1], first_status=winner[3])
        warnings.append((line, no, reason))
        if new_wins:
            losers.append(winner[1])
            winner = (no, line, digest, status)
        else:
            losers.append(line)
    for line, no, reason in sorted(warnings):
        state.warn(line, "订单编号", no, reason)
    return dropped_create(staging, losers)


def _lanes_create(staging: Staging, orders: str, dropped: str) -> str:
    """(line, lane): the Lane of each row the file keeps (see the module's docstring)."""
    lanes = staging.table("lanes")
    order_table, customers = sql.table(Order), sql.table(Customer)
    execute(
        f"""
        CREATE UNLOGGED TABLE {lanes} AS
        SELECT o.line, CASE
                 WHEN length(o.receiver_phone) > {PHONE_MAX} THEN '{Lane.REST}'  -- several numbers: fitted_phone
                 WHEN t.id IS NULL THEN CASE WHEN o.identity_key IS NULL OR known.id IS NULL THEN '{Lane.NEW}'
                                             ELSE '{Lane.REST}' END
                 WHEN t.content_hash = o.content_hash AND t.customer_id IS NOT NULL
                      AND owner.identity_key IS NOT DISTINCT FROM o.identity_key THEN '{Lane.UNCHANGED}'
                 ELSE '{Lane.REST}' END AS lane
          FROM {orders}
          LEFT JOIN {order_table} t ON t.order_no = o.order_no
          LEFT JOIN {customers} owner ON owner.id = t.customer_id
          LEFT JOIN {customers} known ON known.identity_key = o.identity_key
         WHERE NOT EXISTS (SELECT 1 FROM {dropped} d WHERE d.line = o.line)
        """
    )
    execute(f"ANALYZE {lanes}")
    return lanes


# --- Lane.NEW: new orders of new buyers ---------------------------------------------------------------------------


def _local(expr: str) -> str:
    return f"({expr}::timestamp AT TIME ZONE '{settings.TIME_ZONE}')"


def _new_orders_write(staging: Staging, run: RunState, orders: str, lanes: str) -> None:
    """Lane a, in slices of lines, each one transaction: the buyers whose first order is in the slice, the
    slice's orders, their addresses, the lines and refunds that were waiting for them. A failed slice leaves
    the slices before it whole and nothing of itself, as a failed batch of the row-by-row path does."""
    state = staging.state
    new = _new_source(orders, lanes)
    for (line,) in fetch(f"SELECT o.line FROM {new} WHERE o.identity_key IS NULL ORDER BY o.line"):
        state.warn(line, "买家会员名", "", "no buyer details: the order is imported without a customer")
    with timed("buyers"):
        buyers = _buyers_create(staging, new)
    with timed("ambiguous report"):
        _ambiguous_report(state, new)
    created: list[int] = []
    landed = 0
    parts = slices(staging, f"SELECT o.line FROM {new}")
    with timed("addresses of the file"):
        addresses = _addresses_create(staging, orders, lanes, parts)

    def write_slice(low, high, before_commit) -> tuple:
        # the customers earlier slices create (perhaps not committed yet): statistics that know none of them
        # made the orders' join to customers a nested loop over "one" customer
        statistics_keep_up(Customer, scalar(f"SELECT count(*) FROM {buyers} WHERE first_line < {low}"), "identity_key")
        source = _slice_source(orders, lanes, buyers, low, high)
        in_slice: list[int] = []
        affected: set[int] = set()  # customers whose figures must be recomputed after the file
        written: list[int] = []  # orders created, updated

        def work(plain=True):
            affected.clear()
            with timed("customers"):
                in_slice[:] = _customers_insert(buyers, low, high, plain=plain)
            if not plain:  # buyers a concurrent import created first: our orders change their figures
                affected.update(_buyers_of_others(buyers, low, high, in_slice))
            written[:] = _orders_slice_write(run, source, addresses, buyers, low, high, affected, plain=plain)

        # These buyers and orders were new when the lanes were drawn: plain INSERTs. Should a concurrent
        # import have written some of them since, the slice is written again with ON CONFLICT; beside another
        # slice, from there on one by one (slices_in_order): the slices after it may have given orders the id
        # this slice's buyer would have had, which the other import's customer now has instead.
        try:
            in_transaction(staging, work, lines=(low, high), raced=True, before_commit=before_commit)
        except Raced:
            if before_commit:
                raise Contended() from None
            in_transaction(staging, lambda: work(plain=False), lines=(low, high))
        return list(in_slice), tuple(written), set(affected)

    def committed(low, high, result) -> None:
        nonlocal landed
        in_slice, written, affected = result
        state.summary["orders_created"] += written[0]
        state.summary["orders_updated"] += written[1]  # a concurrent import wrote them first
        state.affected.update(affected)
        created.extend(in_slice)
        landed = high
        state.summary["landed_through_line"] = high
        staging.moved(0.55 + 0.3 * (parts.index((low, high)) + 1) / len(parts))

    def sightings_merged() -> None:
        if landed:
            lines = (parts[0][0], landed)
            in_transaction(staging, lambda: _addresses_seen_later(addresses, buyers, landed), lines=lines)

    try:
        slices_in_order(staging, parts, write_slice, committed)
    except Exception:
        state.affected.update(created)  # their figures count orders that did not land: recomputed after the file
        try:
            sightings_merged()  # of the slices that landed
        except StagedFailure:  # the slice's own failure is the one to report
            log.exception("merging the address sightings of the slices that landed failed")
        raise
    else:
        sightings_merged()
    finally:
        state.summary["customers_created"] += len(created)
        run.created_customers.update(created)
        with timed("timeline notes"):
            _timeline_note(run, new, through=landed)
    state.figured.update(set(created) - state.affected)  # those with refunds waiting get recomputed


def _buyers_of_others(buyers: str, low: int, high: int, ours: list[int]) -> list[int]:
    """The customers of the slice's new buyers that another import created (ON CONFLICT DO NOTHING skipped
    them): their figures must take in our orders, so they are recomputed after the file."""
    return [
        cid
        for (cid,) in fetch(
            f"SELECT cu.id FROM {buyers} b JOIN {sql.table(Customer)} cu ON cu.identity_key = b.identity_key "
            f"WHERE b.first_line BETWEEN {low} AND {high} AND NOT cu.id = ANY(%s)",
            [ours],
        )
    ]


def _customers_insert(buyers: str, low: int, high: int, *, plain: bool) -> list[int]:
    columns = ["identity_key", "buyer_nick", "display_nick", "real_name", "phone", "phone_tail", "phone_is_masked",
               "phone_is_virtual", "phone_virtual_expires_at", "email", "wangwang", "province", "city", "district",
               "address", "postcode", "order_count", "paid_order_count", "total_paid", "avg_order_value",
               "refund_total", "first_order_at", "last_order_at", "first_paid_at", "last_paid_at"]
    values = {name: f"s.{name}" for name in columns}
    values["id"] = "s.id"  # taken from the sequence when the buyers were found: orders of later slices use it
    values["source"] = f"'{Customer.Source.IMPORT}'"
    rows = sql.upsert(
        Customer,
        source=f"(SELECT * FROM {buyers} b WHERE b.first_line BETWEEN {low} AND {high}) s",
        values=values,
        conflict=None if plain else ["identity_key"],
        update=None,
        order_by="s.identity_key",
        returning="id",
    )
    return [cid for (cid,) in rows]


def _buyers_create(staging: Staging, new: str) -> str:
    """The new buyers, each with the details of its latest order (as buyers.customer_candidates), the figures
    of its orders (as customers.stats: a customer is inserted once, not updated right after) and the line of
    its first order (the slice that creates it)."""
    paid = "o.status IN ({})".format(", ".join(f"'{s}'" for s in PAID_STATUSES))
    c = 'COLLATE "C"'
    # One sort: the figures as window aggregates over each buyer's orders, the details from the first row. Under
    # "C" (byte order: the same groups, a faster sort). Times are canonical text, whose order under "C" is their
    # order in time: their min and max are taken as text and converted once per buyer, not once per order.
    latest = f"""
        SELECT DISTINCT ON (o.identity_key {c}) o.identity_key, o.buyer_nick, o.display_nick, o.receiver_name,
               o.receiver_phone, o.virtual_expires_at, o.alipay_account, o.province, o.city, o.district, o.detail,
               o.postcode,
               COUNT(*) OVER buyer AS order_count,
               COUNT(CASE WHEN {paid} THEN 1 END) OVER buyer AS paid_order_count,
               COALESCE(SUM(CASE WHEN {paid} THEN COALESCE(o.paid_amount::numeric, 0) END) OVER buyer, 0) AS total_paid,
               COALESCE(SUM(COALESCE(o.refund_amount::numeric, 0)) OVER buyer, 0) AS refund_total,
               MIN(o.ordered_at {c}) OVER buyer AS first_order_at,
               MAX(o.ordered_at {c}) OVER buyer AS last_order_at,
               MIN(CASE WHEN {paid} THEN o.paid_at END {c}) OVER buyer AS first_paid_at,
               MAX(CASE WHEN {paid} THEN o.paid_at END {c}) OVER buyer AS last_paid_at,
               MIN(o.line) OVER buyer AS first_line
          FROM {new} WHERE o.identity_key IS NOT NULL
        WINDOW buyer AS (PARTITION BY o.identity_key {c} ORDER BY o.ordered_at {c} DESC, o.order_no {c} DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
         ORDER BY o.identity_key {c}, o.ordered_at {c} DESC, o.order_no {c} DESC"""
    # The phone's parts once per buyer (OFFSET 0: PostgreSQL would otherwise write each expression out again
    # wherever it is used, a regular expression three times over).
    phone = f"""
        SELECT p.*, strpos(p.phone, '*') > 0 AS masked, p.phone ~ '{VIRTUAL_PHONE}' AS virtual,
               regexp_replace(p.phone, '[^0-9]', '', 'g') AS digits
          FROM (SELECT l.*, left(l.receiver_phone, 20) AS phone FROM ({latest}) l OFFSET 0) p OFFSET 0"""
    source = f"""
        SELECT l.identity_key, l.buyer_nick, l.display_nick, l.receiver_name AS real_name, l.phone,
               CASE WHEN NOT l.virtual AND length(l.digits) >= 4 AND NOT (l.masked AND right(l.phone, 1) = '*')
                    THEN right(l.digits, 4) ELSE '' END AS phone_tail,
               l.masked AS phone_is_masked, l.virtual AS phone_is_virtual,
               CASE WHEN l.virtual THEN {_local('l.virtual_expires_at')} END AS phone_virtual_expires_at,
               CASE WHEN strpos(l.alipay_account, '@') > 0 AND strpos(l.alipay_account, '*') = 0
                     AND length(l.alipay_account) <= 254 THEN l.alipay_account ELSE '' END AS email,
               CASE WHEN l.buyer_nick <> '' AND strpos(l.buyer_nick, '*') = 0 THEN l.buyer_nick ELSE '' END AS wangwang,
               l.province, l.city, l.district, l.detail AS address, l.postcode,
               l.order_count, l.paid_order_count, l.total_paid, l.refund_total,
               {_local('l.first_order_at')} AS first_order_at, {_local('l.last_order_at')} AS last_order_at,
               {_local('l.first_paid_at')} AS first_paid_at, {_local('l.last_paid_at')} AS last_paid_at,
               CASE WHEN l.paid_order_count > 0 THEN ROUND(l.total_paid / l.paid_order_count, 2) ELSE 0 END
                   AS avg_order_value, l.first_line
          FROM ({phone}) l"""
    buyers = staging.table("buyers")
    sequence = f"pg_get_serial_sequence('{Customer._meta.db_table}', 'id')"
    execute(f"CREATE UNLOGGED TABLE {buyers} AS SELECT nextval({sequence}) AS id, s.* FROM ({source}) s")
    execute(f"ANALYZE {buyers} (first_line, identity_key)")
    return buyers


def _new_source(orders: str, lanes: str) -> str:
    """The new orders (lane a), as a FROM clause aliased o."""
    return f"{orders} JOIN {lanes} l ON l.line = o.line AND l.lane = '{Lane.NEW}'"


def _is_new(lanes: str) -> str:
    """Whether order o is new (lane a), as a condition."""
    return f"EXISTS (SELECT 1 FROM {lanes} l WHERE l.line = o.line AND l.lane = '{Lane.NEW}')"


def _slice_source(orders: str, lanes: str, buyers: str, low: int, high: int) -> str:
    """The new orders of lines low..high with their customer: `cu` (committed, or created in this very slice) or
    the id their new buyer `b` takes (created by an earlier slice, perhaps not committed yet: see CUSTOMER)."""
    return (
        f"{_new_source(orders, lanes)} AND l.line BETWEEN {low} AND {high} AND o.line BETWEEN {low} AND {high} "
        f"LEFT JOIN {sql.table(Customer)} cu ON cu.identity_key = o.identity_key "
        f"LEFT JOIN {buyers} b ON b.identity_key = o.identity_key"
    )


CUSTOMER = "coalesce(cu.merged_into_id, cu.id, b.id)"


def _orders_slice_write(
    run: RunState, source: str, addresses: str, buyers: str, low: int, high: int, affected: set, *, plain: bool
) -> tuple[int, int]:
    """One slice of new orders: the orders, the addresses first seen in it, the lines and refunds waiting for
    them. No two slices write the same row, so that two connections can write them side by side. `plain`:
    the orders are written with a plain INSERT (in_transaction(raced=True) turns a clash into Raced). Returns
    the orders created and updated; customers whose returns change go in `affected`."""
    values = {}
    for name, kind in ORDER_COLUMNS:
        if name == "customer_id":
            values["customer"] = CUSTOMER
        elif kind == "local":
            values[name] = _local(f"o.{name}")
        elif kind == "numeric":
            values[name] = f"o.{name}::numeric"
        else:
            values[name] = f"o.{name}"
    now = sql.timestamp_literal(run.now)
    update = [n if n != "customer_id" else "customer" for n, _ in ORDER_COLUMNS if n != "order_no"]
    with timed("orders"):
        if plain:
            written = (len(sql.upsert(Order, source=source, values={**values, "updated_at": now, "imported_at": now},
                                      conflict=None, update=None, order_by="o.order_no", returning="1")), 0)
        else:
            rows = sql.upsert(
                Order,
                source=source,
                values={**values, "updated_at": now, "imported_at": now},
                conflict=["order_no"],
                update=[*update, "updated_at"],
                where=(
                    f"{_rank_sql('excluded.status')} >= {_rank_sql('t.status')} AND "
                    "(t.content_hash IS DISTINCT FROM excluded.content_hash "
                    "OR t.customer_id IS DISTINCT FROM excluded.customer_id)"
                ),
                order_by="o.order_no",
                returning="(t.xmax = 0)",
            )
            created = sum(1 for (inserted,) in rows if inserted)
            written = (created, len(rows) - created)
    with timed("addresses"):
        _addresses_write(addresses, buyers, low, high)
    execute("DROP TABLE IF EXISTS stg_orders")
    execute(f"CREATE TEMP TABLE stg_orders ON COMMIT DROP AS SELECT o.order_no FROM {source}")
    execute("ANALYZE stg_orders")
    with timed("orphans"):
        link_orphans()
    refunded = fetch(
        f"SELECT DISTINCT customer_id FROM {sql.table(Refund)} "
        "WHERE customer_id IS NOT NULL AND order_no IN (SELECT order_no FROM stg_orders)"
    )
    affected.update(cid for (cid,) in refunded)  # their return counts: the refresh after the file
    return written


def _addresses_create(staging: Staging, orders: str, lanes: str, parts: list[tuple[int, int]]) -> str:
    """The file's new orders' addresses, each buyer's, with their sightings per slice (`high`: the slice's last
    line) and whether that slice is the address's first. The first slice writes the address with its own
    sightings; the later slices' are merged in after the slices, for those that landed (_addresses_seen_later):
    so no two slices write one address, and no address shows a sighting from an order that did not land."""
    parts_sql = "o.receiver_name, left(o.receiver_phone, 20), o.province, o.city, o.district, o.detail, o.postcode"
    # The slices are in line order: an order's is the first that ends at or after its line. By a CASE and an
    # EXISTS on the narrow lane table rather than joins (3.9 -> 3.2 s per 1M orders: no hash of the wide rows).
    high = "CASE " + " ".join(f"WHEN o.line <= {high} THEN {high}" for _, high in parts) + " END"
    addresses = staging.table("addresses_seen")
    execute(f"""
        CREATE UNLOGGED TABLE {addresses} AS
        SELECT x.*, x.high = MIN(x.high) OVER (PARTITION BY x.identity_key, x.fingerprint, x.receiver_name, x.phone,
                                                     x.province, x.city, x.district, x.detail, x.postcode) AS first
          FROM (SELECT o.identity_key, md5(concat_ws(E'\\x1f', {parts_sql})) AS fingerprint, o.receiver_name,
                       left(o.receiver_phone, 20) AS phone, o.province, o.city, o.district, o.detail, o.postcode,
                       {high} AS high, MIN(o.ordered_at)::timestamp AS first_seen_at,
                       MAX(o.ordered_at)::timestamp AS last_seen_at
                  FROM {orders}
                 WHERE o.identity_key IS NOT NULL AND o.receiver_address <> '' AND {_is_new(lanes)}
                 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) x""")
    execute(f"ANALYZE {addresses} (high, first)")
    return addresses


def _addresses_write(addresses: str, buyers: str, low: int, high: int) -> None:
    """The addresses first seen in the slice ending at line `high`, with its sightings."""
    _addresses_upsert(addresses, buyers, f"a.first AND a.high = {high}")


def _addresses_seen_later(addresses: str, buyers: str, landed: int) -> None:
    """The sightings in slices after an address's first, of the slices that landed (through line `landed`)."""
    _addresses_upsert(addresses, buyers, f"NOT a.first AND a.high <= {landed}")


def _addresses_upsert(addresses: str, buyers: str, where: str) -> None:
    """By customer: two buyers' keys may lead to one customer."""
    addresses_upsert(f"""(
        SELECT {CUSTOMER} AS customer_id, a.fingerprint, a.receiver_name, a.phone, a.province, a.city, a.district,
               a.detail, a.postcode, MIN(a.first_seen_at) AS first_seen_at, MAX(a.last_seen_at) AS last_seen_at
          FROM {addresses} a LEFT JOIN {sql.table(Customer)} cu ON cu.identity_key = a.identity_key
          LEFT JOIN {buyers} b ON b.identity_key = a.identity_key
         WHERE {where} AND {CUSTOMER} IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
         ORDER BY 1, 2
    ) s""")


def _ambiguous_report(state: FileState, new: str) -> None:
    """buyers.ambiguous_report over the new buyers with a fallback identity (one row each: its first order)."""
    rows = fetch(
        f"SELECT DISTINCT ON (o.identity_key) o.identity_key, o.buyer_nick, o.display_nick, o.line, o.order_no "
        f"FROM {new} WHERE o.identity_key LIKE 'fb:%' ORDER BY o.identity_key, o.order_no COLLATE \"C\""
    )
    if not rows:
        return
    rows.sort(key=lambda r: r[4])
    c = {name: [r[i] for r in rows] for i, name in enumerate(("identity_key", "buyer_nick", "display_nick"))}
    c["order_no"] = [r[4] for r in rows]
    ambiguous_report(c, list(range(len(rows))), [r[3] for r in rows], state)


def _timeline_note(run: RunState, new: str, *, through: int) -> None:
    """The new orders of each customer that landed (lines up to `through`), for the file's "Order import"
    timeline entries (batches.note_order)."""
    rows = fetch(
        f"SELECT coalesce(cu.merged_into_id, cu.id), count(*), "
        f"(array_agg(o.order_no ORDER BY o.order_no COLLATE \"C\"))[1:10] "
        f"FROM {new} JOIN {sql.table(Customer)} cu ON cu.identity_key = o.identity_key "
        f"WHERE o.line <= {through} GROUP BY 1"
    )
    for cid, count, sample in rows:
        entry = run.timeline.setdefault(cid, [0, 0, []])
        entry[0] += count
        entry[2].extend(sample[: 10 - len(entry[2])])


# --- Lane.REST: the row-by-row writer -------------------------------------------------------------------------------


def _rest_write(staging: Staging, run: RunState, lanes: str) -> None:
    """The rows that need the finer rules, handed to orders.write_orders in batches, cleaned as clean_chunk
    would have cleaned them."""
    names = [f.name for f in FIELDS[ORDERS]]
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            f"SELECT c.line, c.source_hash, {', '.join(f'c.{n}' for n in names)} FROM {staging.clean} c "
            f"JOIN {lanes} l ON l.line = c.line AND l.lane = '{Lane.REST}' ORDER BY c.line"
        )
        while rows := cursor.fetchmany(PYTHON_BATCH):
            lines = [r[0] for r in rows]
            columns = {name: [r[i + 2] for r in rows] for i, name in enumerate(names)}
            prepare_orders(columns)
            warn_phones(staging.state, columns, lines)
            columns["source_hash"] = [r[1] for r in rows]  # the record each row comes from (Order.source_hash)
            staging.wrote = True
            failure = write_batch(write_orders, columns, lines, staging.state, run)
            if failure:
                raise StagedFailure(failure)


# --- helpers -------------------------------------------------------------------------------------------------------
