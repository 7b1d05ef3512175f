"""RFM scores and lifecycle stages of every customer: the nightly full recompute, in three set-based steps.

1. ONE scan of the customers computes the new scores and stage beside the current ones (the quintiles as
   window functions over that same scan) and keeps only the customers where something changes, in a
   temporary table. Scoring in a subquery and joining it back to the customers (the first version) read
   the table three times and hash-joined a million rows to itself: 16 s on a night where 3,000 rows changed.
2. The stage changes go to the timeline from that table (one INSERT … SELECT).
3. Only the changed customers are written, joined by primary key. Writing a customer row costs far more than
   computing its scores (the stage is indexed, so a stage change is never a HOT update and every index of
   the table gets a new entry), so an unchanged customer is never written.
"""

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, SegmentationSettings

from ._sql import dt, is_distinct
from .lifecycle import lifecycle_record_changes_from, stage_case
from .rfm import group_case_sql, score_columns_sql

CHANGES = "segmentation_score_changes"
# Above this many written customers the planner's statistics of the scored columns are stale enough to matter
# (after the first scoring every customer still looks unscored to it): ANALYZE them.
ANALYZE_AFTER = 10_000


@transaction.atomic
def scores_refresh(*, now=None, stages: bool = True) -> int:
    """RFM and lifecycle for all customers; stage changes on the timeline. Returns the rows written.
    `stages=False`: RFM only (rfm.rfm_refresh, after an import that refreshes the stages of its customers)."""
    now = now or timezone.now()
    shop = SegmentationSettings.load()
    pg = connection.vendor == "postgresql"
    if pg:
        # Three window sorts over every customer: in memory, not spilled to disk in 4 MB runs; and no JIT,
        # whose compile time never pays back here (segment_bench).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
    _changes_collect(now=now, shop=shop, stages=stages)
    if stages:
        lifecycle_record_changes_from(f"SELECT id, old_stage AS old, stage AS new FROM {CHANGES}", [], now=now)
    written = _changes_write(now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {CHANGES}")
        if pg and written > ANALYZE_AFTER:
            cursor.execute(f"ANALYZE {Customer._meta.db_table} (rfm_r, rfm_f, rfm_m, rfm_group, lifecycle_stage)")
    return written + _clear_merged()


def _changes_collect(*, now, shop: SegmentationSettings, stages: bool) -> None:
    """The temporary table of customers whose scores, group or stage change: (id, old_stage, r, f, m, grp, stage).
    Without `stages` the stage is carried over unchanged."""
    table = Customer._meta.db_table
    scores, score_params = score_columns_sql(now=now, shop=shop)
    stage, stage_params = stage_case(now=now, shop=shop) if stages else ("lifecycle_stage", [])
    d = is_distinct()
    temporary = "TEMPORARY TABLE" if connection.vendor == "postgresql" else "TEMP TABLE"
    on_commit = " ON COMMIT DROP" if connection.vendor == "postgresql" else ""  # gone even if a step fails
    with connection.cursor() as cursor:
        # Schema-qualified: never a permanent table of the same name.
        cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if connection.vendor == 'postgresql' else 'temp'}.{CHANGES}")
        cursor.execute(
            f"""
            CREATE {temporary} {CHANGES}{on_commit} AS
            SELECT id, old_stage, r, f, m, grp, stage FROM (
                SELECT s.*, COALESCE({group_case_sql()}, '') AS grp FROM (
                    SELECT id, rfm_r AS old_r, rfm_f AS old_f, rfm_m AS old_m, rfm_group AS old_grp,
                           lifecycle_stage AS old_stage, {scores}, ({stage}) AS stage
                    FROM {table} WHERE merged_into_id IS NULL
                ) s
            ) x
            WHERE old_r {d} r OR old_f {d} f OR old_m {d} m OR old_grp {d} grp OR old_stage {d} stage
            """,
            [*score_params, *stage_params],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {CHANGES}")  # temporary tables get no autovacuum: the join needs its size


def _changes_write(*, now) -> int:
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET rfm_r = x.r, rfm_f = x.f, rfm_m = x.m, rfm_group = x.grp, lifecycle_stage = x.stage,
                lifecycle_changed_at = CASE WHEN x.old_stage {is_distinct()} x.stage THEN %s
                                            ELSE {table}.lifecycle_changed_at END
            FROM {CHANGES} x
            WHERE {table}.id = x.id
            """,
            [dt(now)],
        )
        return cursor.rowcount


def _clear_merged() -> int:
    """Merged-away customers keep no score or group (the scan above skips them). Few rows, found by the
    merged_into index."""
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET rfm_r = NULL, rfm_f = NULL, rfm_m = NULL, rfm_group = ''
                WHERE merged_into_id IS NOT NULL AND (rfm_r IS NOT NULL OR rfm_group <> '')"""
        )
        return cursor.rowcount


def customers_vacuum_after_recompute(*, written: int) -> bool:
    """After a recompute that wrote many customers, VACUUM ANALYZE their table at once instead of waiting for
    autovacuum (on a busy server it came more than 10 minutes later): until then the visibility map is
    cleared on every written page, so the index-only segment counts read heap pages again (segment_bench (a):
    ~80–180 ms instead of ~100 ms on a loaded machine) and the planner's statistics describe the old scores.
    PostgreSQL only, and only outside a transaction (VACUUM cannot run inside one). Returns whether it ran."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or written <= ANALYZE_AFTER:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Customer._meta.db_table}")
    return True

