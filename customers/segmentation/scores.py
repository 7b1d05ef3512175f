"""Writes of the score table: RFM scores and lifecycle stages (rfm.py and lifecycle.py say what they are; the
refreshes that write them live here, so the dependency goes one way). The nightly full recompute, in three
set-based steps:

1. ONE scan of the customers computes the new scores and stage (the quintiles as window functions over that
   same scan), joins the current ones from the score table and keeps only the customers where something
   changes, in a temporary table. Scoring in a subquery and joining it back to the customers (the first
   version) read the customer table three times: 16 s on a night where 3,000 rows changed.
2. The stage changes go to the timeline from that table (one INSERT … SELECT).
3. Only the changed customers' score rows are written: updated by primary key, or inserted for customers
   scored for the first time. They are narrow rows of CustomerScore (see its docstring for why the scores
   left the customer row): the first scoring of 1,000,000 customers wrote 1,000,000 wide, 14-index customer
   rows (~120 s); now it inserts narrow rows with one secondary index.
"""

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, CustomerScore, SegmentationSettings

from ._sql import chunks, dt, in_ids, is_distinct, refresh_lock
from .lifecycle import lifecycle_record_changes_from, stage_case
from .rfm import group_case_sql, score_columns_sql

# The temporary table of changes, shared with lifecycle_refresh below:
# (id, has_row, old_stage, r, f, m, grp, stage, paid); old_stage is '' for a customer without a score row.
CHANGES = "segmentation_score_changes"
# Above this many written rows the planner's statistics of the score table are stale enough to matter
# (after the first scoring it still believes the table empty): ANALYZE it.
ANALYZE_AFTER = 10_000


@transaction.atomic
def scores_refresh(*, now=None, stages: bool = True) -> int:
    """RFM and lifecycle for all customers; stage changes on the timeline. Returns the rows written.
    `stages=False`: RFM only (rfm_refresh, after an import that refreshes the stages of its customers)."""
    refresh_lock()  # before reading the score table: another refresh's rows must be committed first
    now = now or timezone.now()
    shop = SegmentationSettings.load()
    if connection.vendor == "postgresql":
        # Three window sorts over every customer: in memory, not spilled to disk in 4 MB runs; and no JIT,
        # whose compile time never pays back here (segment_bench).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
    changes_create(*_changes_select(now=now, shop=shop, stages=stages))
    if stages:
        lifecycle_record_changes_from(f"SELECT id, old_stage AS old, stage AS new FROM {CHANGES}", [], now=now)
    written = changes_write(now=now)
    return written + _clear_merged()


def rfm_refresh(*, now=None) -> int:
    """Score every paying customer and set their group; clear scores of customers with no paid order and of
    merged-away ones. Writes only rows whose scores changed. Returns the number of rows written."""
    return scores_refresh(now=now, stages=False)  # the same one-scan recompute, stages left as they are


@transaction.atomic
def lifecycle_refresh(*, customer_ids: list[int] | None = None, now=None) -> int:
    """Set every (or the given) customers' stage; record changes on the timeline. Returns how many changed
    (a first stage counts)."""
    now = now or timezone.now()
    shop = SegmentationSettings.load()
    batches = [None] if customer_ids is None else list(chunks(customer_ids))
    changed = 0
    for ids in batches:
        changed += _refresh_batch(ids=ids, now=now, shop=shop)
    return changed


def _refresh_batch(*, ids: list[int] | None, now, shop) -> int:
    """The stage changes of these customers into the temporary table of changes (changes_write
    writes it), their scores carried over; on the timeline first."""
    stage, stage_params = stage_case(now=now, shop=shop, prefix="c.")
    scope, scope_params = in_ids("c.id", ids)
    d = is_distinct()
    changes_create(
        f"""
        SELECT c.id, sc.customer_id IS NOT NULL AS has_row, COALESCE(sc.lifecycle_stage, '') AS old_stage,
               sc.rfm_r AS r, sc.rfm_f AS f, sc.rfm_m AS m, COALESCE(sc.rfm_group, '') AS grp, ({stage}) AS stage,
               c.last_paid_at AS paid
        FROM {Customer._meta.db_table} c LEFT JOIN {CustomerScore._meta.db_table} sc ON sc.customer_id = c.id
        WHERE c.merged_into_id IS NULL{scope}
              AND (sc.customer_id IS NULL OR sc.lifecycle_stage {d} ({stage}) OR sc.last_paid_at {d} c.last_paid_at)
        """,
        [*stage_params, *scope_params, *stage_params],
    )
    lifecycle_record_changes_from(f"SELECT id, old_stage AS old, stage AS new FROM {CHANGES}", [], now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {CHANGES} WHERE old_stage <> stage")
        changed = cursor.fetchone()[0]
    changes_write(now=now)
    return changed


def _changes_select(*, now, shop: SegmentationSettings, stages: bool) -> tuple[str, list]:
    """Every unmerged customer's new scores and stage beside its score row, keeping only those where something
    differs (a customer without a row always). Without `stages` the stage is carried over unchanged."""
    customers, scores_table = Customer._meta.db_table, CustomerScore._meta.db_table
    scores, score_params = score_columns_sql(now=now, shop=shop)
    stage, stage_params = stage_case(now=now, shop=shop) if stages else ("''", [])
    new_stage = "x.stage" if stages else "COALESCE(sc.lifecycle_stage, '')"
    d = is_distinct()
    sql = f"""
        SELECT x.id, sc.customer_id IS NOT NULL AS has_row, COALESCE(sc.lifecycle_stage, '') AS old_stage,
               x.r, x.f, x.m, x.grp, {new_stage} AS stage, x.paid
        FROM (
            SELECT s.*, COALESCE({group_case_sql()}, '') AS grp FROM (
                SELECT id, last_paid_at AS paid, {scores}, ({stage}) AS stage
                FROM {customers} WHERE merged_into_id IS NULL
            ) s
        ) x
        LEFT JOIN {scores_table} sc ON sc.customer_id = x.id
        WHERE sc.customer_id IS NULL OR sc.rfm_r {d} x.r OR sc.rfm_f {d} x.f OR sc.rfm_m {d} x.m
              OR sc.rfm_group {d} x.grp OR sc.lifecycle_stage {d} {new_stage} OR sc.last_paid_at {d} x.paid
    """
    return sql, [*score_params, *stage_params]


def changes_create(sql: str, params: list) -> None:
    """The temporary table CHANGES from a query giving its columns."""
    pg = connection.vendor == "postgresql"
    temporary = "TEMPORARY TABLE" if pg else "TEMP TABLE"
    on_commit = " ON COMMIT DROP" if pg else ""  # gone even if a step fails
    with connection.cursor() as cursor:
        # Schema-qualified: never a permanent table of the same name.
        cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if pg else 'temp'}.{CHANGES}")
        cursor.execute(f"CREATE {temporary} {CHANGES}{on_commit} AS {sql}", params)
        if pg:
            cursor.execute(f"ANALYZE {CHANGES}")  # temporary tables get no autovacuum: the join needs its size


def changes_write(*, now) -> int:
    """Write CHANGES to the score table, then drop it: existing rows updated by primary key, new ones inserted
    (a plain INSERT: cheaper than an upsert's speculative insertion per row). A stage change (or the first
    stage) dates the stage. Returns the rows written."""
    table = CustomerScore._meta.db_table
    d = is_distinct()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET rfm_r = x.r, rfm_f = x.f, rfm_m = x.m, rfm_group = x.grp, lifecycle_stage = x.stage,
                lifecycle_changed_at = CASE WHEN x.old_stage {d} x.stage THEN %s ELSE {table}.lifecycle_changed_at END,
                last_paid_at = x.paid
            FROM {CHANGES} x
            WHERE {table}.customer_id = x.id AND x.has_row
            """,
            [dt(now)],
        )
        written = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {table} (customer_id, rfm_r, rfm_f, rfm_m, rfm_group, lifecycle_stage, lifecycle_changed_at,
                                 last_paid_at)
            SELECT id, r, f, m, grp, stage, CASE WHEN stage <> '' THEN %s END, paid FROM {CHANGES} WHERE NOT has_row
            """,
            [dt(now)],
        )
        written += cursor.rowcount
        cursor.execute(f"DROP TABLE {CHANGES}")
        if connection.vendor == "postgresql" and written > ANALYZE_AFTER:
            cursor.execute(f"ANALYZE {table}")
    return written


def _clear_merged() -> int:
    """Merged-away customers keep no scores (the scan above skips them; customer_merge deletes the row too).
    Few rows, found by the merged_into index."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""DELETE FROM {CustomerScore._meta.db_table} WHERE customer_id IN
                (SELECT id FROM {Customer._meta.db_table} WHERE merged_into_id IS NOT NULL)"""
        )
        return cursor.rowcount


def scores_vacuum_after_recompute(*, written: int) -> bool:
    """After a recompute that wrote many score rows, VACUUM ANALYZE their table at once instead of waiting for
    autovacuum (on a busy server it came more than 10 minutes later): until then its visibility map is
    cleared on every written page, so index-only reads of the stage index read heap pages again, and the
    dead row versions stay. PostgreSQL only, and only outside a transaction (VACUUM cannot run inside one).
    Returns whether it ran."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or written <= ANALYZE_AFTER:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {CustomerScore._meta.db_table}")
    return True

