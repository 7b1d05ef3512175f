"""The small amount of SQL that differs between PostgreSQL and SQLite, and the model-driven upsert builder.

Both databases get the same plan: load a batch into a temporary staging table (COPY on PostgreSQL, executemany on
SQLite), then one `INSERT … SELECT … ON CONFLICT (key) DO UPDATE … WHERE <something changed>` per table. The
column list is built from the model, so a column another app adds later gets its Python default instead of
breaking the import.
"""

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

log = logging.getLogger(__name__)

SHOP_TZ = ZoneInfo(settings.TIME_ZONE)  # the exports' clock is the shop's, which is the site's TIME_ZONE
UTC = ZoneInfo("UTC")
IN_BATCH = 5000  # SQLite's limit on bound variables is 32766; stay well below
# Per sort/hash node (SET LOCAL: the connection's own setting stays as it was). Two values on purpose: the
# set-based path sorts and hashes whole files and needs 256MB to keep them in memory (bench/README.md); a batch
# transaction (the row-by-row path, and the set-based path's rows that go row by row) is small and keeps the 64MB
# it always had (256MB there measured no different on the 1M-order bench; the lower ceiling is the safer one when
# several imports run at once).
WORK_MEM = "256MB"
BATCH_WORK_MEM = "64MB"
DEADLOCK_RETRIES = 3  # a transaction that deadlocked with a concurrent import is run again, this many times at most


def error_first_line(exc: Exception) -> str:
    """The first line of a database error, as the summary's reasons quote it (the rest is PostgreSQL's detail)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_failure(exc: Exception, first: int, last: int) -> str:
    """The summary's reason for a batch or slice that failed in the database: both paths word it alike."""
    log.exception("import write failed")
    return (
        f"database error in the rows from line {first} to {last} (nothing of them was saved): {error_first_line(exc)}"
    )


def deadlocked(exc: Exception, attempt: int) -> bool:
    """Whether `exc` is a deadlock worth running the transaction again for (after a short pause, longer each time):
    the row-by-row batches and the staged slices retry alike."""
    if "deadlock" in str(exc).lower() and attempt < DEADLOCK_RETRIES:
        time.sleep(0.2 * (attempt + 1))
        return True
    return False


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def stage(
    name: str,
    columns: list[tuple[str, str]],
    rows: list[tuple] | None = None,
    *,
    by_column: list[list] | None = None,
    joined_on: tuple[str, ...] = (),
) -> None:
    """(Re)create the temporary table `name` with `columns` [(name, type)] and load `rows` into it, or the same
    data given column by column (`by_column`, one list per column): the cheaper form for big batches, since
    PostgreSQL then gets one COPY text block built column-wise instead of a Python call per row.

    `joined_on`: the columns later joined to a big table; on PostgreSQL they get statistics (ANALYZE), since
    autovacuum never analyzes a temporary table and without them the planner guesses the batch's size and joins
    it to the whole order table by a sequential scan instead of the index. Tables only inserted from need none.

    Types: text, numeric, integer, bigint, boolean, jsonb, and `local` for a shop-local 'YYYY-MM-DD HH:MM:SS'
    string (converted to an aware timestamp by `local_ts()` when selected)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        if is_postgres():
            types = {"local": "timestamp", "jsonb": "text"}
            ddl = ", ".join(f"{c} {types.get(t, t)}" for c, t in columns)
            cursor.execute(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP")
            names = ", ".join(c for c, _ in columns)
            with cursor.cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                if by_column is not None:
                    _copy_by_column(copy, columns, by_column)
                else:
                    for row in rows:
                        copy.write_row(row)
            if joined_on:
                cursor.execute(f"ANALYZE {name} ({', '.join(joined_on)})")
        else:
            if by_column is not None:
                rows = list(zip(*by_column, strict=True))
            cursor.execute(f"CREATE TEMP TABLE {name} ({', '.join(c for c, _ in columns)})")
            local = [i for i, (_, t) in enumerate(columns) if t == "local"]
            if local:
                rows = [_utc_row(row, local) for row in rows]
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_ROWS = 10_000  # rows per block written to the COPY stream


def _copy_column(values: list, kind: str) -> list[str]:
    """One column in COPY's text format: NULL as \\N, booleans as t/f, and backslash, tab and line breaks escaped
    (checked once over the joined column, so clean columns cost no call per value)."""
    if kind == "boolean":
        return ["\\N" if v is None else "t" if v else "f" for v in values]
    texts = ["" if v is None else v if v.__class__ is str else str(v) for v in values]
    joined = "\x00".join(texts)
    if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
        texts = [t.translate(_COPY_ESCAPES) for t in texts]
    if None in values:
        texts = ["\\N" if v is None else t for v, t in zip(values, texts, strict=True)]
    return texts


def _copy_by_column(copy, columns: list[tuple[str, str]], by_column: list[list]) -> None:
    texts = [_copy_column(list(values), kind) for values, (_, kind) in zip(by_column, columns, strict=True)]
    total = len(texts[0]) if texts else 0
    for start in range(0, total, COPY_ROWS):
        rows = zip(*(column[start : start + COPY_ROWS] for column in texts), strict=True)
        copy.write(("\n".join(map("\t".join, rows)) + "\n").encode("utf-8"))


def batch_settings() -> None:
    """Settings for one import transaction: room for the upserts' sorts and hashes in memory, not on disk."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{BATCH_WORK_MEM}'")


def _utc_row(row: tuple, positions: list[int]) -> tuple:
    row = list(row)
    for i in positions:
        if row[i]:
            local = datetime.strptime(row[i], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHOP_TZ)
            row[i] = local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return tuple(row)


def local_ts(expr: str) -> str:
    """SQL turning a staged shop-local timestamp into the column's aware timestamp."""
    return f"({expr} AT TIME ZONE '{settings.TIME_ZONE}')" if is_postgres() else expr


def timestamp_literal(value: datetime) -> str:
    """An aware datetime we generated ourselves (never user input) as an SQL literal."""
    if is_postgres():
        return f"'{value.isoformat()}'::timestamptz"
    return "'{}'".format(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))


def json_expr(expr: str) -> str:
    return f"({expr})::jsonb" if is_postgres() else expr


def upsert(
    model,
    *,
    source: str,
    values: dict[str, str],
    conflict: list[str] | None,
    update: list[str] | None,
    where: str | None = None,
    order_by: str | None = None,
    returning: str | None = None,
) -> list[tuple]:
    """INSERT INTO model's table every row of `source` (a FROM clause, aliased `s`).

    `values` maps field names to SQL expressions over `s`; every other concrete field gets its Python default.
    On conflict with `conflict` (field names) the `update` fields are set from EXCLUDED (or from the expression of
    a (field, expression) pair) when `where` holds (the target table is aliased `t`), or nothing happens when
    `update` is None. With no `conflict` it is a plain INSERT (cheaper: no speculative insertion), for rows known
    to be new; a concurrent writer of the same keys then makes it fail with an IntegrityError."""
    columns, exprs, params = [], [], []
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in values:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in values:
            exprs.append(values[field.name])
        else:
            exprs.append("%s")
            auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            params.append(field.get_db_prep_save(now if auto else field.get_default(), connection))
    target = table(model)
    sql = f"INSERT INTO {target} AS t ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM {source} WHERE true"
    if order_by:
        sql += f" ORDER BY {order_by}"
    if conflict:
        conflict_cols = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in conflict)
        sql += f" ON CONFLICT ({conflict_cols}) "
        if update:
            sql += f"DO UPDATE SET {', '.join(_assignment(model, item) for item in update)}"
            sql += f" WHERE {where}" if where else ""
        else:
            sql += "DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def _assignment(model, item) -> str:
    """`col = excluded.col` for a field name, or `col = <expression>` for a (field name, expression) pair."""
    name, expression = item if isinstance(item, tuple) else (item, None)
    column = connection.ops.quote_name(model._meta.get_field(name).column)
    return f"{column} = {expression or f'excluded.{column}'}"


def fetch_in(sql: str, keys: list[str], *, params_before: tuple = ()) -> list[tuple]:
    """Run `sql` whose `{keys}` placeholder stands for "IN (the keys)" (text keys); batched on SQLite."""
    if not keys:
        return []
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        if is_postgres():  # one text parameter: psycopg dumps a 50,000-element list slowly, in Python
            cursor.execute(sql.format(keys="= ANY(string_to_array(%s, E'\\x1f'))"), [*params_before, "\x1f".join(keys)])
            return cursor.fetchall()
        for start in range(0, len(keys), IN_BATCH):
            part = list(keys[start : start + IN_BATCH])
            cursor.execute(sql.format(keys=f"IN ({', '.join(['%s'] * len(part))})"), [*params_before, *part])
            rows.extend(cursor.fetchall())
    return rows


def execute(statement: str, params=None) -> int:
    """Run one statement; returns the rows it touched. Timed at debug level (bench/README.md's profiles)."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        log.debug("%.2fs %s", time.monotonic() - started, " ".join(statement.split())[:100])
        return cursor.rowcount


def scalar(statement: str, params=None):
    """The first column of the first row."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def fetch(statement: str, params=None) -> list[tuple]:
    """Every row."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()
