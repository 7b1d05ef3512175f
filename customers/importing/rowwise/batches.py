"""Writing one cleaned batch to the database, set-based, in one transaction per batch (see runner.py).

Each batch: read what the database already holds for the batch's keys (one indexed query), decide in Python what
is new, changed or unchanged (by content hash and status rank), then stage only the new and changed rows and
upsert them with `INSERT … ON CONFLICT DO UPDATE … WHERE`. The WHERE repeats the rules (hash differs; the status
does not go backwards), so two imports racing on the same orders still end as if run one after the other: the
unique constraints and ON CONFLICT decide, never the Python pre-read.
"""

from operator import itemgetter

from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils import timezone

from customers.models import STATUS_RANK, Order
from customers.stats import customer_stats_refresh

from .. import sql
from ..formats.columns import FIELDS, ORDERS
from ..state import FileState, RunState

STATUS_CODES = [str(s) for s in STATUS_RANK]


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
    from customers.services.timeline import TimelineRow, timeline_record_many

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


def write_batch(writer, columns, lines, state: FileState, run: RunState) -> str | None:
    """One transaction per batch; a deadlock with a concurrent import is retried. Returns a failure reason."""
    saved = {k: (v.copy() if isinstance(v, (set, dict, list)) else v) for k, v in state.summary.items()}
    for attempt in range(sql.DEADLOCK_RETRIES + 1):
        run.batch_affected, run.batch_contact_changed, run.batch_line_orders = set(), set(), []
        run.batch_rekeyed = []
        try:
            with transaction.atomic():
                sql.batch_settings()
                writer({k: list(v) for k, v in columns.items()}, lines, state, run)
            state.affected |= run.batch_affected  # committed: these customers' figures are refreshed after the file
            state.contact_changed |= run.batch_contact_changed
            state.line_orders += run.batch_line_orders
            for before, after in run.batch_rekeyed:
                taken = state.rekeyed.setdefault(before, {})
                taken[after] = taken.get(after, 0) + 1
            return None
        except OperationalError as exc:
            state.summary.clear()
            state.summary.update({k: (v.copy() if isinstance(v, (set, dict, list)) else v) for k, v in saved.items()})
            if sql.deadlocked(exc, attempt):
                continue
            return sql.write_failure(exc, lines[0], lines[-1])
        except DatabaseError as exc:
            state.summary.clear()
            state.summary.update(saved)
            return sql.write_failure(exc, lines[0], lines[-1])
    return None


def warn_phones(state: FileState, columns: dict, lines: list[int]) -> None:
    """The phone cells records.prepare_orders had to change (several numbers, or none that fits), as warnings."""
    headers = {f.name: f.headers[0] for f in FIELDS[ORDERS]}
    for i, name, value, reason in columns.pop("phone_notes", []):
        state.warn(lines[i], headers[name], value[:60], reason)
