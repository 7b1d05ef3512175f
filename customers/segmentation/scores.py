"""RFM scores and lifecycle stages of every customer in ONE UPDATE: the nightly full recompute.

Writing a customer row costs far more than computing its scores (every index on the table gets a new entry
unless the update is HOT), so the scores and the stage are set together, and only rows where something
changed are written (segment_bench: two separate passes wrote each of a million rows twice).
"""

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, SegmentationSettings

from ._sql import dt, is_distinct
from .lifecycle import lifecycle_record_changes, stage_case
from .rfm import rfm_clear_unscored, scored_sql


@transaction.atomic
def scores_refresh(*, now=None) -> int:
    """RFM and lifecycle for all customers; stage changes on the timeline. Returns the rows written."""
    now = now or timezone.now()
    shop = SegmentationSettings.load()
    if connection.vendor == "postgresql":
        # Three window sorts over every paying customer: in memory, not in 4 MB spills to disk; and no JIT,
        # whose compile time never pays back here (segment_bench).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")
    lifecycle_record_changes(ids=None, now=now, shop=shop)
    table = Customer._meta.db_table
    scored, score_params = scored_sql(now=now, shop=shop)
    stage, stage_params = stage_case(now=now, shop=shop)
    d = is_distinct()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET rfm_r = x.r, rfm_f = x.f, rfm_m = x.m, rfm_group = COALESCE(x.grp, ''),
                lifecycle_stage = x.stage,
                lifecycle_changed_at = CASE WHEN {table}.lifecycle_stage {d} x.stage THEN %s
                                            ELSE {table}.lifecycle_changed_at END
            FROM (SELECT c.id AS id, s.r AS r, s.f AS f, s.m AS m, s.grp AS grp, ({stage}) AS stage
                  FROM {table} c LEFT JOIN ({scored}) s ON s.id = c.id
                  WHERE c.merged_into_id IS NULL) x
            WHERE {table}.id = x.id AND (
                {table}.rfm_r {d} x.r OR {table}.rfm_f {d} x.f OR {table}.rfm_m {d} x.m
                OR {table}.rfm_group {d} COALESCE(x.grp, '') OR {table}.lifecycle_stage {d} x.stage)
            """,
            [dt(now), *stage_params, *score_params],
        )
        written = cursor.rowcount
    return written + rfm_clear_unscored()
