"""The set-based import of a big CSV 订单报表 or 宝贝报表 on PostgreSQL: the file is COPYed as it is, cleaned,
checked and derived in SQL, and written with one INSERT … SELECT … ON CONFLICT per table per slice of rows.

Why: the row-by-row path (reading.py → cleaning.py → a Python pass per batch) spends most of its time on Python
calls per cell; here PostgreSQL parses, cleans and writes, and Python only steers (bench/README.md has figures).
The rules are those of the row-by-row path (sqlclean.py mirrors cleaning.py; the few rows that need its
finer rules are handed to it), and tests/customers/test_import_staged.py imports files both ways and compares.

Steps, each over the whole file: the records imported before as they are found by key and hash and left out
(_skipped_find) → raw (copying.py) → base (stripped, unwrapped text per field) → clean (typed
values, derived columns, the reason of each bad cell) → errors and blank rows reported → the kind's own writer
(staged_orders.py, staged_lines.py). Work tables are UNLOGGED (no WAL: they are rebuilt, not recovered) and
dropped at the end, whatever happens.
"""

import logging
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, connections, transaction

from customers.models import Order, OrderLine

from .. import sql
from ..formats.columns import FIELDS, Field
from ..formats.reading import ExportFile
from ..sql import execute, scalar
from ..state import MAX_LISTED, FileState
from . import sqlclean
from .copying import KeyUnsure, NotStaged, Refused, first_keys, raw_table_create, raw_table_drop, record_keys_copy

log = logging.getLogger(__name__)

SLICE_ROWS = 250_000  # rows per write transaction: progress moves, and a failure loses one slice at most


class StagedFailure(Exception):
    """The database failed while writing; the message is the summary's reason."""


class TooManyErrors(Exception):
    """The file has more bad rows than a file may (HUIKE_IMPORT_MAX_ERRORS_PER_FILE): a hostile or wrong file.
    The set-based path checks every row before it writes any, so none of the file is written."""


class Raced(Exception):
    """A plain INSERT of rows known to be new met a key a concurrent import wrote first (in_transaction with
    raced=True): nothing of the transaction was saved, and the caller writes it again with ON CONFLICT."""


@dataclass
class Staging:
    """The work tables of one staged file and what the steps learned about it."""

    export: ExportFile
    state: FileState
    prefix: str
    progress: object = None  # callable(fraction of the file done)
    tables: list = field(default_factory=list)
    fields: list = field(default_factory=list)  # the kind's fields this layout has
    width: int = 0
    raw: str = ""
    clean: str = ""
    wrote: bool = False  # a write transaction began: from then on a failure is the file's, not a fallback
    savepoint: str | None = None  # inside a caller's transaction: where a fallback rolls back to
    prepared: dict = field(default_factory=dict)  # what the kind's prepare step made, for its writer
    skipped: str = ""  # the table of records imported before exactly as they are (_skipped_find), if any
    reasons: list = field(default_factory=list)  # (field, 0: type or required / 1: length, SQL) per e<n> column
    blank_rows: int = 0

    def table(self, role: str) -> str:
        name = f"{self.prefix}_{role}"
        self.tables.append(name)
        return name

    def moved(self, fraction: float) -> None:
        if self.progress:
            self.progress(fraction)


def stageable(export: ExportFile) -> bool:
    """Whether this file takes the set-based path: a CSV of orders or lines on PostgreSQL of at least
    settings.HUIKE_IMPORT_STAGE_MIN_BYTES (below, the row-by-row path is as fast), with every required column
    (a file without one is reported row by row by the other path)."""
    if connection.vendor != "postgresql" or export.format != "csv" or export.kind not in ("orders", "lines"):
        return False
    if export.size < settings.HUIKE_IMPORT_STAGE_MIN_BYTES:
        return False
    return all(f.name in export.positions for f in FIELDS[export.kind] if f.required)


def staged_prepare(
    export: ExportFile, state: FileState, run, *, progress=None, prepare=None, owner: int = 0, before_clean=None
):
    """The steps before any write: COPY, the records imported before as they are, cleaning, the rows' errors,
    and the kind's own `prepare(staging)`. Returns the Staging, whose work tables the caller must drop
    (staged_write does), or raises NotStaged with nothing written and every work table dropped.

    `owner`: the backend pid the work tables are named after (default: this connection's). A file prepared on
    another thread's connection names them after the importing connection, which outlives that thread (see
    orphaned_tables_drop). `before_clean()` is called (and waited for) before the cleaning."""
    owner = owner or scalar("SELECT pg_backend_pid()")
    prefix = f"{WORK_TABLES}{owner}_" + re.sub(r"[^a-z0-9]", "", f"{run.run_id}_{id(state)}".lower())
    staging = Staging(export, state, prefix, progress)
    _session_settings()
    try:
        started = time.monotonic()
        # Inside a caller's transaction (tests, a management shell) a failed statement would abort it: a
        # savepoint lets the row-by-row path still run. In autocommit, as the job and the command run, none.
        staging.savepoint = transaction.savepoint_create() if connection.in_atomic_block else None
        only = _skipped_find(staging)
        staging.raw = staging.table("raw")
        raw = raw_table_create(export, staging.raw, only=only)
        staging.width = raw.width
        state.summary["skipped"] += raw.skipped
        staging.moved(0.3)
        sqlclean.functions_create()
        staging.fields = [f for f in FIELDS[export.kind] if f.name in export.positions]
        if before_clean:
            before_clean()
        _clean_table_create(staging)
        _report_rows(staging)
        if prepare:
            prepare(staging)
        staging.moved(0.45)
        log.info("staged %s: copied and cleaned in %.1fs", export.name, time.monotonic() - started)
    except (DatabaseError, psycopg.Error) as exc:  # our own COPYs' errors come from psycopg unwrapped
        _fall_back(staging, exc)
    except BaseException:
        staging_drop(staging)
        raise
    finally:
        _session_reset()
    return staging


def staged_write(staging: Staging, run, writer) -> None:
    """The kind's writer over a prepared file; its work tables are dropped at the end, whatever happens."""
    try:
        with session_tuned():
            writer(staging, run)
    except DatabaseError as exc:  # not a write's (those are StagedFailure): a step of ours that went wrong
        if staging.wrote:
            log.exception("the set-based import of %s failed", staging.export.name)
            first = sql.error_first_line(exc)
            raise StagedFailure(f"database error while importing the file set-based: {first}") from exc
        _fall_back(staging, exc)
    finally:
        staging_drop(staging)


def _fall_back(staging: Staging, exc: Exception):
    """A step of ours failed before anything was written: the row-by-row path gets the file."""
    log.exception("the set-based import of %s failed", staging.export.name)
    first = sql.error_first_line(exc)
    if staging.savepoint:
        transaction.savepoint_rollback(staging.savepoint)
    staging_drop(staging)
    raise NotStaged(f"the set-based steps failed before writing anything: {first}") from exc


def staging_drop(staging: Staging) -> None:
    for name in staging.tables:
        try:
            raw_table_drop(name)
        except DatabaseError:  # an aborted transaction (tests) drops them itself
            log.warning("could not drop the work table %s", name)
    staging.tables.clear()


def _session_settings() -> None:
    # The statements here are huge expression trees over a million rows: JIT would compile them for seconds
    # (measured: 10 s of 12 for 50,000 rows) to save far less.
    execute("SET jit = off")
    execute(f"SET work_mem = '{sql.WORK_MEM}'")  # the sorts and hashes over a whole file, in memory


@contextmanager
def session_tuned():
    """The connection set for the steps here (jit, work_mem) inside the block: the writers' (staged_write)
    and the comparison ahead (ahead.py)."""
    _session_settings()
    try:
        yield
    finally:
        _session_reset()


def _session_reset() -> None:
    try:
        execute("RESET jit")
        execute("RESET work_mem")
    except DatabaseError:  # an aborted transaction (tests): it goes with it
        pass


WORK_TABLES = "huike_import_p"  # + the backend's pid: whose they are


def orphaned_tables_drop() -> None:
    """Work tables of an import whose process died (killed mid-file: its `finally` never ran): their backend
    is gone. Those of imports still running are left alone. Once per run, before any file is prepared (the
    run's two connections would each find and report the same tables)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s "
            "AND substring(relname FROM %s)::int NOT IN (SELECT pid FROM pg_stat_activity)",
            [WORK_TABLES.replace("_", "\\_") + "%", f"^{WORK_TABLES}([0-9]+)_"],
        )
        orphaned = [name for (name,) in cursor.fetchall()]
    for name in orphaned:
        log.warning("dropping the work table %s of an import that did not finish", name)
        raw_table_drop(name)


# --- clean ---------------------------------------------------------------------------------------------------------


def raw_columns(staging: Staging, f: Field) -> list[str]:
    return [f"r.c{p}" for p in staging.export.positions[f.name]]


def _clean_table_create(staging: Staging) -> None:
    """raw → clean: per field its typed value and the reason of its problem (columns e0, e1 …); `bad` rows have
    one; `extra` rows have more fields than the header; all-blank rows are left out and counted as skipped.
    Rows that are plain and canonical already (nearly all) take one cheap pass, the others the full rules."""
    width = len(staging.export.headers)
    values, staging.reasons = _values_and_reasons(staging)
    staging.clean = staging.table("clean")
    _fast_rows_create(staging, extra_column=width if staging.width > width else None)
    pending = f"(SELECT line FROM {staging.clean} WHERE pending)"
    log.debug("%s rows need the full cleaning rules", scalar(f"SELECT count(*) FROM {pending} p"))
    _slow_rows_insert(staging, values, pending)
    execute(f"DELETE FROM {staging.clean} WHERE pending")
    execute(f"ANALYZE {staging.clean} (line, bad, extra)")


def _values_and_reasons(staging: Staging) -> tuple[list[str], list[tuple]]:
    """The full rules: per field of the kind its cleaned value, and the (field, kind, SQL) of its reasons; over
    the columns of _slow_rows_insert's third step (base text, and k_<field> for the fast checks)."""
    values, reasons = [], []
    for f in FIELDS[staging.export.kind]:
        if f not in staging.fields:  # a column this layout lacks: empty, as clean_chunk fills it
            empty = "NULL::integer" if f.type == "int" else "NULL::text" if f.type in ("money", "datetime") else "''"
            values.append(f"{empty} AS {f.name}")
            continue
        k = f"k_{f.name}" if sqlclean.fast_check(f, f.name) else None
        cleaned = sqlclean.value(f, f.name, k)
        values.append(f"{cleaned} AS {f.name}")
        for kind, expr in enumerate((sqlclean.reason(f, f.name, k, cleaned), sqlclean.length_reason(f, cleaned))):
            if expr:
                reasons.append((f, kind, expr))
    return values, reasons


def _blank(staging: Staging) -> str:
    everything = " || ".join(f"coalesce(r.c{i}, '')" for i in range(staging.width))
    return f"({sqlclean.stripped('coalesce(r.c0, chr(32))')} = '' AND {sqlclean.stripped(everything)} = '')"


def _slow_rows_insert(staging: Staging, values: list[str], pending: str) -> None:
    """The pending rows, by the full rules of cleaning.py, in nested steps (each an OFFSET 0 subquery, so that
    no expression is worked out twice): strip; unwrap and empty; the fast check of each typed value; values and
    reasons. Blank rows are counted, not kept."""
    width = len(staging.export.headers)
    extra = f"({sqlclean.stripped(f'coalesce(r.c{width}, chr(32))')} <> '')" if staging.width > width else "false"
    names = [f.name for f in staging.fields]
    stripped = ", ".join(
        f"{sqlclean.base_stripped(sqlclean.picked(raw_columns(staging, f)))} AS {f.name}" for f in staging.fields
    )
    used = sorted({p for f in staging.fields for p in staging.export.positions[f.name]})
    joined = " || ".join(f"coalesce(r.c{p}, '')" for p in used)
    blank = _blank(staging)
    level0 = (
        f"SELECT r.line, {extra} AS extra, {_source_hash(staging)} AS source_hash, {joined} AS joined, {stripped} "
        f"FROM {staging.raw} r "
        f"WHERE r.line IN {pending} AND NOT {blank} OFFSET 0"
    )
    flagged = f"SELECT l0.*, {sqlclean.special(['l0.joined'])} AS special FROM ({level0}) l0 OFFSET 0"
    level1 = (
        "SELECT line, extra, source_hash, "
        + ", ".join(f"CASE WHEN special THEN {sqlclean.unwrapped(n)} ELSE {n} END AS {n}" for n in names)
        + f" FROM ({flagged}) l0 OFFSET 0"
    )
    checks = [(f, sqlclean.fast_check(f, f.name)) for f in staging.fields]
    fast = ", ".join(f"{check} AS k_{f.name}" for f, check in checks if check)
    level2 = f"SELECT l1.*{', ' + fast if fast else ''} FROM ({level1}) l1 OFFSET 0"
    reasons = [f"{expr} AS e{n}" for n, (_, _, expr) in enumerate(staging.reasons)]
    level3 = f"SELECT line, extra, source_hash, {', '.join(values + reasons)} FROM ({level2}) l2 OFFSET 0"
    bad = " OR ".join(f"e{n} IS NOT NULL" for n in range(len(staging.reasons))) or "false"
    execute(f"INSERT INTO {staging.clean} SELECT l3.*, ({bad}) AS bad, false AS pending FROM ({level3}) l3")
    staging.blank_rows = scalar(f"SELECT count(*) FROM {staging.raw} r WHERE r.line IN {pending} AND {blank}")


def _fast_rows_create(staging: Staging, *, extra_column: int | None) -> None:
    """The clean table with every row: the fast ones (sqlclean.fast_row) cleaned, the others `pending` (their
    values here are meaningless: the slow cleaning replaces them). One flat SELECT, so that PostgreSQL can
    share it out among parallel workers."""
    picked = {}
    for f in staging.fields:
        first, *rest = [f"coalesce(r.c{p}, '')" for p in staging.export.positions[f.name]]
        expr = first
        for other in rest:  # no spaces at the ends in a fast row: blank means empty
            expr = f"(CASE WHEN {expr} <> '' THEN {expr} ELSE {other} END)"
        picked[f.name] = expr
    aliases: dict[str, list[str]] = {}
    for f in staging.fields:
        aliases[f.name] = [f"coalesce(r.c{p}, '')" for p in staging.export.positions[f.name][1:]]
    test = sqlclean.fast_row(staging.fields, picked, aliases)
    if extra_column is not None:
        test = f"coalesce(r.c{extra_column}, '') = '' AND {test}"
    columns = []
    for f in FIELDS[staging.export.kind]:
        if f in staging.fields:
            columns.append(f"{sqlclean.fast_value(f, picked[f.name])} AS {f.name}")
        else:
            empty = "NULL::integer" if f.type == "int" else "NULL::text" if f.type in ("money", "datetime") else "''"
            columns.append(f"{empty} AS {f.name}")
    columns += [f"NULL::text AS e{n}" for n in range(len(staging.reasons))]
    execute(
        f"CREATE UNLOGGED TABLE {staging.clean} AS SELECT r.line, false AS extra, {_source_hash(staging)} "
        f"AS source_hash, {', '.join(columns)}, false AS bad, NOT ({test}) AS pending FROM {staging.raw} r"
    )


def _source_hash(staging: Staging) -> str:
    """The record's hash (Order.source_hash), made by the byte pass (recordpass.py)."""
    return "r.record_hash"


# What identifies a record of each kind in its table, for _skipped_find: (field, table, column, counter).
_RECORD_KEYS = {
    "orders": ("order_no", Order, "order_no", "orders_unchanged"),
    "lines": ("line_no", OrderLine, "line_key", "lines_unchanged"),
}
PROBE_RECORDS = 200


def _skipped_find(staging: Staging) -> bytearray | None:
    """The records that wrote their row last time exactly as they are now (same key, same source_hash, the key
    once in the file), found before the file is COPYed: those are counted unchanged and never sent, cleaned or
    written again, so a re-import of the same export costs one read of it and a join. Returns the lines of the
    records still to COPY (copying.raw_table_create's `only`), or None for all of them: when the database holds
    none of the file's first records (a first import), or when a key is not plain digits (recordpass.KeyUnsure:
    the file's records are then told apart only after cleaning, by the writers' own comparisons)."""
    name, model, column, counter = _RECORD_KEYS[staging.export.kind]
    positions = staging.export.positions.get(name)
    if not positions:  # 2017 宝贝报表: no 子订单编号 to know a line by
        return None
    table = connection.ops.quote_name(model._meta.db_table)
    keys = staging.table("keys")
    try:
        probe = first_keys(staging.export, positions[0], PROBE_RECORDS)
        if not probe or not scalar(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = ANY(%s))", [probe]):
            return None
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE {keys} (line integer, key text, source_hash text)")
            with cursor.cursor.copy(f"COPY {keys} FROM STDIN") as copy:
                blanks = record_keys_copy(staging.export, copy, positions[0], blank_key_unsure=len(positions) > 1)
    except KeyUnsure as exc:
        log.info("%s: a key that is not plain digits (%s): every record is cleaned", staging.export.name, exc)
        return None
    except Refused as exc:  # the pass itself failed: the COPY's own pass will say whether the file can be staged
        log.warning("%s: the keys could not be read (%s): every record is cleaned", staging.export.name, exc)
        return None
    execute(f"ANALYZE {keys}")
    owned = " AND t.customer_id IS NOT NULL" if model is Order else ""  # a deleted buyer is made again
    staging.skipped = staging.table("skipped")
    # A hash join over the whole table: a nested loop probing its index once per record (the planner's choice
    # at 1M rows) read the table in random order for 76 s.
    execute("SET enable_nestloop = off")
    execute("SET enable_mergejoin = off")
    try:
        execute(
            f"CREATE UNLOGGED TABLE {staging.skipped} AS SELECT k.line, k.key FROM {keys} k "
            f"JOIN {table} t ON t.{column} = k.key AND t.source_hash = k.source_hash{owned}"
        )
    finally:
        execute("RESET enable_nestloop")
        execute("RESET enable_mergejoin")
    # A key the file has twice is cleaned and de-duplicated with its twin, not skipped.
    execute(
        f"DELETE FROM {staging.skipped} s USING (SELECT key FROM {keys} WHERE key IS NOT NULL GROUP BY key "
        f"HAVING count(*) > 1) twice WHERE s.key = twice.key"
    )
    count = scalar(f"SELECT count(*) FROM {staging.skipped}")
    summary = staging.state.summary
    summary["rows"] += count
    summary[counter] += count
    summary["skipped"] += blanks
    log.info("%s: %s records as they were imported before: unchanged", staging.export.name, count)
    return _lines_marked(
        f"SELECT line FROM {keys} k WHERE NOT EXISTS (SELECT 1 FROM {staging.skipped} s WHERE s.line = k.line)",
        size=scalar(f"SELECT coalesce(max(line), 0) + 1 FROM {keys}"),
    )


def _lines_marked(query: str, *, size: int) -> bytearray:
    """A byte per line number up to `size`, 1 for the lines `query` returns (COPYed out: a million rows in
    a fraction of a second, where fetching them as tuples took seconds and hundreds of MB)."""
    marked = bytearray(size)
    text = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
        for block in copy:
            text += block
    for line in text.split():
        marked[int(line)] = 1
    return marked


def _report_rows(staging: Staging) -> None:
    """Counts, structural errors (more fields than the header) and cell errors, as the row-by-row path words
    them: sorted by line, then by the field's place in the layout."""
    summary = staging.state.summary
    summary["skipped"] += staging.blank_rows
    summary["rows"] += scalar(f"SELECT count(*) FROM {staging.clean}")
    width = len(staging.export.headers)
    headers = {f.name: staging.export.headers[staging.export.positions[f.name][0]] for f in staging.fields}
    parts = [
        f"SELECT line, -1 AS ord, '' AS col, '' AS val, 'the row has {staging.width} fields, the header has {width}' "
        f"AS reason FROM {staging.clean} WHERE extra"
    ]
    for n, (f, kind, _) in enumerate(staging.reasons):
        if kind == 0:  # the type's (or required's) reason: the raw text, stripped, as the file has it
            shown = sqlclean.raw_shown(sqlclean.picked(raw_columns(staging, f)))
            value = f"CASE WHEN c.e{n} = '{sqlclean.REASONS['required']}' THEN '' ELSE {shown} END"
        else:  # too long: the start of the cleaned value
            value = f"left(c.{f.name}::text, 60)"
        column = headers[f.name].replace("'", "''")
        order = FIELDS[staging.export.kind].index(f) * 2 + kind
        parts.append(
            f"SELECT c.line, {order}, '{column}', {value}, c.e{n} FROM {staging.clean} c JOIN {staging.raw} r "
            f"ON r.line = c.line WHERE c.bad AND NOT c.extra AND c.e{n} IS NOT NULL"
        )
    union = " UNION ALL ".join(parts)
    count = scalar(f"SELECT count(*) FROM {staging.clean} WHERE bad OR extra")
    if not count:
        return
    summary["error_count"] += scalar(f"SELECT count(*) FROM ({union}) e")
    room = MAX_LISTED - len(summary["errors"])
    if room > 0:
        with connection.cursor() as cursor:
            # Structural errors first, as the row-by-row path lists them (per chunk), then by line and column.
            cursor.execute(f"SELECT line, col, val, reason FROM ({union}) e ORDER BY ord >= 0, line, ord LIMIT {room}")
            summary["errors"].extend(
                {"file": staging.state.name, "line": line, "column": col, "value": val, "reason": reason}
                for line, col, val, reason in cursor.fetchall()
            )
    limit = settings.HUIKE_IMPORT_MAX_ERRORS_PER_FILE
    if summary["error_count"] >= limit:
        raise TooManyErrors(
            f"{summary['error_count']} errors, more than a file may have ({limit}): none of its rows was imported"
        )


# --- shared helpers ------------------------------------------------------------------------------------------------


def repeated_rows(staging: Staging, source: str, key: str, columns: str) -> list[tuple]:
    """`columns` of the rows of `source` (aliased o) whose `key` the file has more than once, by key then line:
    the input of each kind's de-duplication, which writes its losers with dropped_create()."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {source} WHERE o.{key} IN "
            f"(SELECT {key} FROM {source} GROUP BY {key} HAVING count(*) > 1) ORDER BY o.{key}, o.line"
        )
        return cursor.fetchall()


def dropped_create(staging: Staging, lines: list[int]) -> str:
    """The table of the lines a de-duplication leaves out (empty when none)."""
    dropped = staging.table("dropped")
    execute(f"CREATE UNLOGGED TABLE {dropped} (line integer PRIMARY KEY)")
    if lines:
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {dropped} FROM STDIN") as copy:
            for line in lines:
                copy.write_row((line,))
    return dropped


def landed_through(staging: Staging) -> int:
    """The last line of a good row (written, or unchanged), as the row-by-row path reports how far a file got."""
    written = f"SELECT max(line) FROM {staging.clean} c WHERE {good_rows(staging)}"
    unchanged = f"SELECT max(line) FROM {staging.skipped}" if staging.skipped else "SELECT 0"
    return scalar(f"SELECT coalesce(greatest(({written}), ({unchanged})), 0)")


def good_rows(staging: Staging, alias: str = "c") -> str:
    return f"NOT {alias}.bad AND NOT {alias}.extra"


@contextmanager
def timed(label: str):
    """Log how long a step took (debug level: bench/README.md's profiles come from these)."""
    started = time.monotonic()
    yield
    log.debug("%.2fs %s", time.monotonic() - started, label)


def in_transaction(
    staging: Staging, work, *, lines: tuple[int, int], raced: bool = False, before_commit=None
) -> None:
    """Run `work()` in one transaction, retried on a deadlock with a concurrent import; a database failure
    becomes StagedFailure with the row-by-row path's wording. With `raced`, a unique violation raises Raced.
    `before_commit()` runs last inside the transaction (slices_in_order: it waits for the slice before)."""
    staging.wrote = True
    for attempt in range(sql.DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL work_mem = '{sql.WORK_MEM}'")
                    cursor.execute("SET LOCAL jit = off")
                    if before_commit:  # written beside another slice: see PARALLEL_LOCK_TIMEOUT
                        cursor.execute(f"SET LOCAL lock_timeout = '{PARALLEL_LOCK_TIMEOUT}'")
                with timed(f"transaction {getattr(work, '__name__', '')} {lines}"):
                    work()
                if before_commit:
                    before_commit()
            return
        except OperationalError as exc:
            if before_commit and getattr(exc.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
                raise Contended() from exc
            if sql.deadlocked(exc, attempt):
                continue
            raise StagedFailure(sql.write_failure(exc, *lines)) from exc
        except IntegrityError as exc:
            if raced and getattr(exc.__cause__, "sqlstate", None) == "23505":  # unique_violation
                log.info("lines %s to %s met rows a concurrent import wrote; written again with ON CONFLICT", *lines)
                raise Raced() from exc
            raise StagedFailure(sql.write_failure(exc, *lines)) from exc
        except DatabaseError as exc:
            raise StagedFailure(sql.write_failure(exc, *lines)) from exc


class Abandoned(Exception):
    """A slice written while one before it failed: rolled back, so that what landed stays a run of lines."""


class Contended(Exception):
    """A slice written on two connections met another import's rows (it waited longer than
    PARALLEL_LOCK_TIMEOUT for a lock, or a row it found new was written first): slices_in_order writes it and
    the rest one by one."""


# Two connections each waiting in Python for the slice before its own to commit can close a circle with another
# import's two that PostgreSQL cannot see (it sees only the row locks): no deadlock error would ever end it. A
# slice on two connections therefore waits at most this long for a lock, and the slices from there on are then
# written one by one, where PostgreSQL sees every wait and settles a deadlock as usual.
PARALLEL_LOCK_TIMEOUT = "5s"


def slices_in_order(staging: Staging, parts: list[tuple[int, int]], write_slice, committed) -> None:
    """`write_slice(low, high, before_commit)` for each slice (each its own transaction: in_transaction with
    `before_commit`), then `committed(low, high, result)` in the slices' order. In autocommit, as the job and
    the command run, every other slice is written on a second connection at once, and a slice commits only
    after the one before it: what landed is still every line up to a slice's end, as one connection gives.
    For slices that share no rows (staged_orders and staged_lines make theirs so); inside a caller's
    transaction, one by one.

    A failed slice abandons the ones after it (rolled back) and its exception is raised once the slices
    before it are counted; a slice that met another import's rows (Contended) and those after it are written
    again one by one."""
    if connection.in_atomic_block or len(parts) < 2:
        for low, high in parts:
            committed(low, high, write_slice(low, high, None))
        return
    done = [threading.Event() for _ in parts]
    first_failed = [len(parts)]  # the first slice that failed so far: those after it are abandoned
    lock = threading.Lock()
    results: list = [None] * len(parts)
    errors: list = [None] * len(parts)

    def failed(i: int) -> None:
        with lock:
            first_failed[0] = min(first_failed[0], i)

    landed = 0  # slices handed to committed(), in order (the main thread's, as they commit: progress moves)
    reporting: list = []  # what committed() raised, if it did

    def report() -> None:
        nonlocal landed
        try:
            while not reporting and landed < len(parts) and done[landed].is_set() and errors[landed] is None:
                committed(*parts[landed], results[landed])
                landed += 1
        except Exception as exc:  # noqa: BLE001 (raised again once the helper has stopped)
            reporting.append(exc)
            failed(landed)  # that slice is in; those after it are abandoned

    def run(indexes, *, main: bool) -> None:
        for i in indexes:

            def wait(i=i):
                if i:
                    done[i - 1].wait()
                if first_failed[0] < i:
                    raise Abandoned()

            try:
                if first_failed[0] < i:
                    raise Abandoned()
                results[i] = write_slice(*parts[i], wait)
            except BaseException as exc:  # noqa: BLE001 (the main thread raises it again)
                errors[i] = exc
                failed(i)
            finally:
                done[i].set()
            if main:
                report()

    def helper_run() -> None:
        try:
            run(range(1, len(parts), 2), main=False)
        finally:
            connections.close_all()  # this thread's own connection

    helper = threading.Thread(target=helper_run, name="huike-import-slices")
    helper.start()
    try:
        run(range(0, len(parts), 2), main=True)
    finally:
        if not all(event.is_set() for event in done[::2]):  # an interrupt stopped this thread mid-way: the
            failed(-1)  # helper must abandon its slices, not wait for one that will never come
            for event in done:
                event.set()
        helper.join()
    interrupted = [e for e in errors if e is not None and not isinstance(e, Exception)]
    if interrupted:  # Ctrl-C, a worker shutting down: before any slice's own failure
        raise interrupted[0]
    report()
    if reporting:
        raise reporting[0]
    if landed < len(parts) and isinstance(errors[landed], Contended):
        log.info("lines %s to %s met another import's rows: the slices from there are written one by one",
                 *parts[landed])
        for low, high in parts[landed:]:
            committed(low, high, write_slice(low, high, None))
    elif landed < len(parts):
        raise errors[landed]


def statistics_keep_up(model, written: int, column: str) -> None:
    """ANALYZE a table this import has written `written` rows to when its statistics know of far fewer rows.
    Statistics taken while a big insert was still uncommitted say the table is empty: the next slice's join
    against it then became a nested loop over "one" customer and ran for ten minutes at 1M orders. Only the
    `column` joined on (and the row count, which every ANALYZE takes): the whole table is analyzed after the
    file, and its every column here cost 0.4-0.6 s per slice."""
    known = scalar("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
    if written > 2 * max(known, 0) + 10_000:
        execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)} ({connection.ops.quote_name(column)})")


def slices(staging: Staging, source: str) -> list[tuple[int, int]]:
    """Line ranges of about SLICE_ROWS rows of `source` (a query with a `line` column)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(line), max(line) FROM (SELECT line, (row_number() OVER (ORDER BY line) - 1) / {SLICE_ROWS} "
            f"AS part FROM ({source}) s) x GROUP BY part ORDER BY part"
        )
        return cursor.fetchall()


__all__ = ["Contended", "NotStaged", "Raced", "StagedFailure", "TooManyErrors", "good_rows",
           "in_transaction", "landed_through", "orphaned_tables_drop", "session_tuned", "slices",
           "slices_in_order",
           "stageable", "staged_prepare", "staged_write", "staging_drop", "statistics_keep_up"]
