"""The import run: files -> chunks -> clean -> one transaction per batch -> summary."""

import copy
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from customers.models import Customer, CustomerAddress, Order, OrderLine, Product, Refund, TimelineEvent

from . import sql
from .formats.cleaning import clean_chunk
from .formats.columns import LINES, ORDERS, REFUNDS
from .formats.reading import CHUNK_ROWS, ExportFile, UnreadableFile
from .formats.records import prepare_orders
from .rowwise.batches import finish_file, warn_phones, write_batch
from .rowwise.buyers import rekeyed_merge
from .rowwise.lines import write_lines
from .rowwise.orders import write_orders
from .rowwise.refunds import write_refunds
from .staged.ahead import ahead_start
from .staged.copying import NotStaged
from .staged.lines import compare_staged_lines, prepare_staged_lines, write_staged_lines
from .staged.orders import write_staged_orders
from .staged.staging import (
    StagedFailure,
    TooManyErrors,
    orphaned_tables_drop,
    stageable,
    staged_prepare,
    staged_write,
    timed,
)
from .state import MAX_LISTED, FileState, RunState

log = logging.getLogger(__name__)

WRITERS = {ORDERS: write_orders, LINES: write_lines, REFUNDS: write_refunds}
STAGED = {ORDERS: (None, write_staged_orders), LINES: (prepare_staged_lines, write_staged_lines)}  # prepare, write
KIND_ORDER = {ORDERS: 0, LINES: 1, REFUNDS: 2}  # orders first, so lines and refunds link at once
COUNTERS = [
    "rows",
    "orders_created",
    "orders_updated",
    "orders_unchanged",
    "orders_stale",
    "lines_created",
    "lines_updated",
    "lines_unchanged",
    "refunds_created",
    "refunds_updated",
    "refunds_unchanged",
    "products_created",
    "customers_created",
    "customers_updated",
    "skipped",
    "duplicates",
    "orphans",
    "error_count",
    "warning_count",
    "ambiguous_count",
    "customers_merged",
]
ANALYZE_AFTER_ROWS = 10_000

Progress = Callable[[int, int, str], None]


def new_summary(name: str) -> dict:
    summary: dict = {"file": name, "kind": "", "format": "", "status": "ok", "reason": ""}
    summary.update(dict.fromkeys(COUNTERS, 0))
    summary.update(errors=[], warnings=[], ambiguous_customers=[], landed_through_line=0)
    summary["_customers_counted"] = set()
    summary["_ambiguous_seen"] = set()
    return summary


def import_files(paths: Iterable, *, job=None, progress: Progress | None = None, chunk_rows: int = CHUNK_ROWS) -> dict:
    """Import seller-centre exports (订单报表, 宝贝报表, 退款 exports; CSV, .xlsx, .xls) and return the summary.

    `paths` holds paths, or (path, display name) pairs for uploads. Files are processed orders first, then lines,
    then refunds, whatever order they were given in; each batch of rows is one transaction. The summary has one
    entry per file in the given order (see COUNTERS, plus errors, warnings, ambiguous_customers), and a "status":
    succeeded, partial (a file could not be read, a batch failed, or none of a file's rows was good) or failed
    (nothing was imported).

    Segmentation is not refreshed here (it was a third of an import's time): "customer_ids" lists the customers
    whose orders or refunds changed, and the caller runs `segmentation_refresh` for them afterwards (the import job
    enqueues `segmentation_refresh_task`, the import_orders command runs it in the foreground)."""
    run = RunState(run_id=f"job{job.pk}" if job is not None else uuid.uuid4().hex[:12], now=timezone.now())
    entries = []
    for item in paths:
        path, name = item if isinstance(item, tuple) else (item, Path(item).name)
        summary = new_summary(str(name))
        try:
            export = ExportFile(path, name=str(name))
            summary.update(kind=export.kind, format=export.format)
        except UnreadableFile as exc:
            export = None
            summary.update(status="unreadable", reason=str(exc))
        entries.append((summary, export))

    total = sum(export.size for _, export in entries if export) or 1  # progress is in bytes of the files
    done = 0
    stopped = None
    started = time.monotonic()
    queue = [
        (export, FileState(name=summary["file"], kind=export.kind, summary=summary, present=set(export.positions)))
        for summary, export in sorted((e for e in entries if e[1]), key=lambda e: KIND_ORDER[e[1].kind])
    ]
    if any(stageable(export) for export, _ in queue):
        orphaned_tables_drop()
    analyzed: set = set()
    ahead = None
    try:
        ahead = ahead_start(queue, run, STAGED[LINES][0], compare_staged_lines)
        for position, (export, state) in enumerate(queue):
            if stopped:
                if ahead and ahead.export is export:
                    ahead.discard()
                state.summary.update(status="failed", reason="not imported: the import stopped at a database error")
                continue
            try:
                stopped = _import_staged(export, state, run, progress, done, total, ahead)
                if stopped is NOT_STAGED:
                    if ahead:
                        ahead.go()
                    stopped = _import_file(export, state, run, progress, done, total, chunk_rows)
            except Exception as exc:  # noqa: BLE001 one file's unforeseen failure is that file's entry, not the run's
                log.exception("importing %s failed", state.name)
                if isinstance(exc, DatabaseError) and connection.in_atomic_block:
                    raise  # a caller's transaction (a test, a shell) is aborted: nothing after it could run
                reason = f"could not be imported: {type(exc).__name__}: {exc}"[:500]
                state.summary.update(status="failed", reason=reason)
                stopped = None  # the database is fine: the other files go on
            if ahead and not stopped and position + 1 < len(queue) and queue[position + 1][0] is ahead.export:
                ahead.orders_written()  # it is compared beside this file's figures and timeline
            with timed(f"finish {state.name}"):
                failure = _finish_file(state, run)  # also after a failed batch: for the batches that landed
                failure = failure or _merge_rekeyed(state, run)
            if connection.vendor == "postgresql":
                analyzed |= _analyze([(state.summary, export)])  # the next file joins what this one wrote
            stopped = stopped or failure
            done += export.size
    finally:
        if ahead:
            ahead.discard()  # when it was not taken: the run ended early

    rows = sum(s["rows"] for s, _ in entries)
    if connection.vendor == "postgresql":
        _analyze(entries, skip=analyzed)  # many rows over several files, none of them with enough alone
    for summary, _ in entries:
        rejected = summary["rows"] and summary["error_count"] >= summary["rows"] and not _landed(summary)
        if summary["status"] == "ok" and rejected:  # every row has an error
            reason = f"none of its {summary['rows']} rows was imported (see the rows listed)"
            summary.update(status="failed", reason=reason)
    files = [_public(summary) for summary, _ in entries]
    log.info("import %s: %d files, %d rows in %.1fs", run.run_id, len(files), rows, time.monotonic() - started)
    return {"files": files, "status": _overall(files), "run": run.run_id, "customer_ids": sorted(run.affected)}


NOT_STAGED = object()


def _import_staged(export: ExportFile, state: FileState, run: RunState, progress, done, total, ahead=None):
    """The set-based path for a big CSV (staged.py). Returns NOT_STAGED when the file is not for it or COPY
    rejects it (nothing was written: the row-by-row path takes it), else like _import_file. A file `ahead`
    prepared already is only written."""
    if not stageable(export):
        return NOT_STAGED
    prepare, writer = STAGED[export.kind]
    saved = copy.deepcopy(state.summary)

    def moved(fraction: float) -> None:
        if progress:
            progress(done + int(export.size * fraction), total, state.name)

    try:
        if ahead and ahead.export is export:
            saved = ahead.saved
            staging = ahead.staging()
            staging.progress = moved
            staged_write(staging, run, writer)
        else:
            try:
                staging = staged_prepare(export, state, run, progress=moved, prepare=prepare)
            finally:
                if ahead:
                    ahead.go()  # the file ahead may clean now: this one's cleaning is done
            staged_write(staging, run, writer)
    except NotStaged as exc:
        log.info("%s is read row by row: %s", export.name, exc)
        state.summary.clear()
        state.summary.update(saved)
        return NOT_STAGED
    except StagedFailure as exc:
        state.summary.update(status="failed", reason=str(exc))
        return str(exc)
    except TooManyErrors as exc:  # this file only: nothing of it was written, the others go on
        state.summary.update(status="failed", reason=str(exc))
        return None
    moved(1.0)
    return None


def _import_file(export: ExportFile, state: FileState, run: RunState, progress, done, total, chunk_rows):
    """Import one file; returns a reason when the whole run must stop (the database failed), else None."""
    summary = state.summary
    writer = WRITERS[export.kind]
    try:
        for chunk, columns, lines, errors in _cleaned_chunks(export, state.name, chunk_rows):
            summary["skipped"] += chunk.skipped
            summary["rows"] += len(chunk.lines) + len(chunk.errors)
            _add_errors(summary, [{"file": state.name, **e} for e in chunk.errors])
            _add_errors(summary, errors)
            warn_phones(state, columns, lines)
            if lines:
                failure = write_batch(writer, columns, lines, state, run)
                if failure:
                    summary.update(status="failed", reason=failure)
                    return failure
                summary["landed_through_line"] = lines[-1]
            if progress:
                progress(done + export.bytes_done(chunk), total, state.name)
            if summary["error_count"] >= settings.HUIKE_IMPORT_MAX_ERRORS_PER_FILE:  # a hostile or wrong file
                last = chunk.lines[-1] if chunk.lines else summary["landed_through_line"]
                reason = (f"stopped after {summary['error_count']} errors (at most "
                          f"{settings.HUIKE_IMPORT_MAX_ERRORS_PER_FILE} per file): nothing after line {last} was read")
                summary.update(status="failed", reason=reason)
                return None
    except UnreadableFile as exc:
        summary.update(status="unreadable", reason=str(exc))
    return None


def _cleaned_chunks(export: ExportFile, name: str, chunk_rows: int):
    """(raw chunk, cleaned columns, their lines, cell errors) for each chunk of the file."""
    headers = {field: export.headers[pos[0]] for field, pos in export.positions.items()}
    for chunk in export.chunks(chunk_rows):
        columns, lines, errors = clean_chunk(export.kind, chunk.fields, chunk.lines, file=name, headers=headers)
        if lines and export.kind == ORDERS:
            prepare_orders(columns)
        yield chunk, columns, lines, errors


def _finish_file(state: FileState, run: RunState) -> str | None:
    """Customer figures and timeline once per file, in one transaction. Returns a failure reason."""
    if not (state.affected or state.contact_changed or state.line_orders or state.figured):
        return None
    try:
        with transaction.atomic():
            sql.batch_settings()
            finish_file(state, run)
    except DatabaseError as exc:
        log.exception("updating the customers' figures after an import failed")
        first = sql.error_first_line(exc)
        reason = f"database error while updating the customers' figures (the orders were saved): {first}"
        state.summary.update(status="failed", reason=state.summary["reason"] or reason)
        return reason
    return None


def _merge_rekeyed(state: FileState, run: RunState) -> str | None:
    """Customers left without orders because the file re-keyed them (rekeyed_merge). Returns a failure reason."""
    if not state.rekeyed:
        return None
    try:
        rekeyed_merge(state, run)
    except DatabaseError as exc:
        log.exception("merging the customers an import re-keyed failed")
        reason = f"database error while merging re-keyed customers (the orders were saved): {sql.error_first_line(exc)}"
        state.summary.update(status="failed", reason=state.summary["reason"] or reason)
        return reason
    return None


def _add_errors(summary: dict, errors: list[dict]) -> None:
    summary["error_count"] += len(errors)
    room = MAX_LISTED - len(summary["errors"])
    if room > 0:
        summary["errors"].extend(errors[:room])


def _public(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if not k.startswith("_")}


def _overall(files: list[dict]) -> str:
    statuses = {f["status"] for f in files}
    if statuses <= {"ok"}:
        return "succeeded"
    if "ok" in statuses or any(_landed(f) for f in files):
        return "partial"
    return "failed"


def _landed(summary: dict) -> int:
    """How many of a file's rows are in the database now (new, changed, or there already)."""
    counters = [f"{k}_{x}" for k in ("orders", "lines", "refunds") for x in ("created", "updated", "unchanged")]
    return sum(summary[c] for c in counters) + summary["orders_stale"]


def _analyze(entries, skip: set = frozenset()) -> set:
    """Fresh statistics after a big load (of each file, since the next one joins what it wrote): without them
    one derivation query once flipped to an 8-minute plan. Only the tables the files wrote many rows to, but
    those in `skip`; returns the models analyzed."""
    written = {
        Order: ("orders_created", "orders_updated"),
        OrderLine: ("lines_created", "lines_updated"),
        Refund: ("refunds_created", "refunds_updated"),
        Customer: ("customers_created", "customers_updated"),
    }
    models = {m for m, keys in written.items() if sum(s[k] for s, _ in entries for k in keys) >= ANALYZE_AFTER_ROWS}
    if Order in models:
        models |= {Customer, CustomerAddress, TimelineEvent}
    if OrderLine in models:
        models.add(Product)
    models -= skip
    with connection.cursor() as cursor:
        for model in sorted(models, key=lambda m: m._meta.db_table):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return models
