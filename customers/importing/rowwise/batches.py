"""Writing one cleaned batch to the database, set-based, in one transaction per batch (see runner.py).

Each batch: read what the database already holds for the batch's keys (one indexed query), decide in Python what
is new, changed or unchanged (by content hash and status rank), then stage only the new and changed rows and
upsert them with `INSERT … ON CONFLICT DO UPDATE … WHERE`. The WHERE repeats the rules (hash differs; the status
does not go backwards), so two imports racing on the same orders still end as if run one after the other: the
unique constraints and ON CONFLICT decide, never the Python pre-read.
"""

from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
from django.db import connection
from django.utils import timezone

from customers.models import STATUS_RANK, Order
from customers.stats import customer_stats_refresh

from .. import sql

MAX_LISTED = 500  # errors/warnings kept per file in the summary; the counts stay exact
STATUS_CODES = [str(s) for s in STATUS_RANK]


class SeenOrders:
    """The order numbers a file has had so far, each with its packed (hash, line, status) of orders._pack: two
    sorted numpy arrays (24 bytes an order) instead of a dict of Python ints (~170 bytes an order). A batch looks
    its order numbers up at once (`lookup`) and adds its own at the end (`update`)."""

    LOW = (1 << 40) - 1  # line and status; the 48-bit hash prefix is above them

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rest = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, keys: list[int]) -> list[int | None]:
        """The packed value of each key seen before, else None."""
        if not len(self.keys) or not keys:
            return [None] * len(keys)
        wanted = np.array(keys, dtype=np.uint64)
        at = np.minimum(np.searchsorted(self.keys, wanted), len(self.keys) - 1)
        found = self.keys[at] == wanted
        hashes, rest = self.hashes[at].tolist(), self.rest[at].tolist()
        return [(hashes[j] << 40) | rest[j] if hit else None for j, hit in enumerate(found.tolist())]

    def update(self, packed: dict[int, int]) -> None:
        """Record {key: packed value}; a key seen before gets its new value."""
        if not packed:
            return
        keys = np.array(sorted(packed), dtype=np.uint64)
        values = [packed[k] for k in keys.tolist()]
        hashes = np.array([v >> 40 for v in values], dtype=np.uint64)
        rest = np.array([v & self.LOW for v in values], dtype=np.uint64)
        at = np.searchsorted(self.keys, keys)
        known = np.zeros(len(keys), dtype=bool)
        inside = at < len(self.keys)
        known[inside] = self.keys[at[inside]] == keys[inside]
        self.hashes[at[known]] = hashes[known]
        self.rest[at[known]] = rest[known]
        new = ~known
        self.keys = np.insert(self.keys, at[new], keys[new])
        self.hashes = np.insert(self.hashes, at[new], hashes[new])
        self.rest = np.insert(self.rest, at[new], rest[new])


@dataclass
class FileState:
    """What one file's import remembers across its batches."""

    name: str
    kind: str
    summary: dict
    present: set = field(default_factory=set)  # the fields this file's layout has
    seen: SeenOrders = field(default_factory=SeenOrders)  # orders: int(order_no) -> packed (hash, line, status)
    line_numbers: dict = field(default_factory=dict)  # 2017 宝贝报表: order_no -> highest place given so far
    claimed: set = field(default_factory=set)  # 2017 宝贝报表: the line keys its rows took (line_match.py)
    keyless_seen: dict = field(default_factory=dict)  # 2017 宝贝报表: (order_no, content hash) -> first line
    affected: set = field(default_factory=set)  # customers whose orders/refunds changed in the batches that landed
    contact_changed: set = field(default_factory=set)  # customers whose contact details changed in them
    line_orders: list = field(default_factory=list)  # orders (ids) that got new or changed lines in them
    figured: set = field(default_factory=set)  # new customers created with their figures (staged_orders)
    rekeyed: dict = field(default_factory=dict)  # customer id -> {customer id that took its orders: orders}

    def warn(self, line: int, column: str, value: str, reason: str) -> None:
        self.summary["warning_count"] += 1
        if len(self.summary["warnings"]) < MAX_LISTED:
            self.summary["warnings"].append(
                {"file": self.name, "line": line, "column": column, "value": value, "reason": reason}
            )


    def warn_orphans(self, rows) -> None:
        """(line, order number) of each line written without its order (not in any 订单报表 imported yet): listed
        as warnings, as bad rows are; the line is linked when its order comes."""
        for line, order_no in rows:
            self.warn(line, ORDER_NO_HEADER, order_no, ORPHAN_REASON.format(order=order_no))


ORDER_NO_HEADER = "订单编号"
ORPHAN_REASON = "order {order} is not in any 订单报表 imported so far: the line is kept and linked when it comes"


@dataclass
class RunState:
    """What the whole import run remembers: for the timeline and for segmentation afterwards."""

    run_id: str
    now: object = None
    affected: set = field(default_factory=set)
    created_customers: set = field(default_factory=set)
    timeline: dict = field(default_factory=dict)  # customer id -> [created, updated, [sample order numbers]]
    status_changes: dict = field(default_factory=dict)  # customer id -> [[order_no, from, to], ...]
    batch_affected: set = field(default_factory=set)  # the current batch's, until its transaction commits
    batch_contact_changed: set = field(default_factory=set)
    batch_line_orders: list = field(default_factory=list)
    batch_rekeyed: list = field(default_factory=list)  # (customer id before, after) of each re-keyed order


def local_text(value) -> str | None:
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


def columns_of(c: dict, columns: list[tuple[str, str]], index: list[int]) -> list[list]:
    """The staged data column by column: the given columns at the given row indexes, picked at C speed."""
    if not index:
        return [[] for _ in columns]
    pick = itemgetter(*index)
    if len(index) == 1:
        return [[pick(c[name])] for name, _ in columns]
    return [list(pick(c[name])) for name, _ in columns]


def note_order(run: RunState, cid, no: str, *, created: bool) -> None:
    if not cid:
        return
    entry = run.timeline.setdefault(cid, [0, 0, []])
    entry[0 if created else 1] += 1
    if len(entry[2]) < 10:
        entry[2].append(no)


def finish_batch(affected: set, summary: dict, run: RunState, contact_changed: set = frozenset()) -> None:
    """Remember the customers this batch touched. Their derived figures and timeline are written once, after the
    file's last batch (`finish_file`), not re-aggregated in every batch; the runner keeps a batch's ids only once
    its transaction has committed."""
    run.batch_affected.update(affected)
    run.batch_contact_changed.update(contact_changed)


def finish_file(state: FileState, run: RunState) -> None:
    """Derived figures and the timeline, set-based, for every customer the file's landed batches touched; the
    customers whose purchases changed (new or changed order lines) join the segmentation's list."""
    summary = state.summary
    if state.line_orders:
        run.affected.update(_customers_of_orders(state.line_orders))
    affected = state.affected
    stale = affected - state.figured  # the figured ones were created with their figures, in this very file
    if affected or state.contact_changed:
        changed = customer_stats_refresh(customer_ids=sorted(stale)) if stale else []
        existing_changed = set(changed) | state.contact_changed
        existing_changed -= run.created_customers | summary["_customers_counted"]
        summary["customers_updated"] += len(existing_changed)
        summary["_customers_counted"].update(existing_changed)
        run.affected.update(affected)
    run.affected.update(state.figured)
    _write_timeline(affected | state.figured, run)


def _customers_of_orders(order_ids: list[int]) -> set[int]:
    """The customers of these orders, in one query per IN_BATCH ids (one query on PostgreSQL)."""
    ids = sorted(set(order_ids))
    step = len(ids) if sql.is_postgres() else sql.IN_BATCH
    customers: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            where = "id = ANY(%s)" if sql.is_postgres() else f"id IN ({', '.join(['%s'] * len(part))})"
            cursor.execute(
                f"SELECT DISTINCT customer_id FROM {sql.table(Order)} WHERE customer_id IS NOT NULL AND {where}",
                [part] if sql.is_postgres() else part,
            )
            customers.update(row[0] for row in cursor.fetchall())
    return customers


def _write_timeline(affected: set, run: RunState) -> None:
    """One event per customer for the run's new and updated orders, one for its status changes; a file of the
    same run adds to them (the dedupe key is the run's), an import run again changes nothing."""
    from customers.services import TimelineRow, timeline_record_many

    rows = []
    for cid in sorted(affected):
        entry = run.timeline.get(cid)
        if entry:
            created, updated, sample = entry
            data = {"import": run.run_id, "created": created, "updated": updated, "orders": sample}
            rows.append(TimelineRow(cid, "order_imported", data, dedupe_key=f"import:{run.run_id}"))
        changes = run.status_changes.get(cid)
        if changes:
            data = {"import": run.run_id, "changes": changes[:20], "count": len(changes)}
            rows.append(TimelineRow(cid, "order_status_changed", data, dedupe_key=f"status:{run.run_id}"))
    timeline_record_many(rows, occurred_at=run.now, update_changed=True)
