"""Substring search on customer names at a million customers (customers/filters.py): GIN trigram indexes.

PostgreSQL only: SQLite has no pg_trgm and keeps its plain scan (TrigramExtension and the function below do nothing
there). The indexes are not declared in Customer.Meta, since Django would then build them on SQLite too; they live
here, and `makemigrations --check` is clean on both databases.

Each index is on UPPER(column), exactly the expression `icontains` emits on PostgreSQL
(UPPER("col"::text) LIKE UPPER('%…%')), so the planner can use it; pg_trgm ≥ 1.6 (PostgreSQL 14+) also answers
the `iexact` twin check of customers.selectors.customer_possible_duplicates from them. Built CONCURRENTLY (hence a
non-atomic migration) so a live shop keeps importing while they build. CREATE EXTENSION needs a role allowed to
create it (the superuser of the docker compose database is).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

TABLE = "customers_customer"
SEARCHED_COLUMNS = ("buyer_nick", "display_nick", "real_name")


def index_name(column: str) -> str:
    return f"customer_{column}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {index_name(column)} "
            f"ON {TABLE} USING gin (UPPER({column}) gin_trgm_ops)"
        )
    # ANALYZE gathers statistics on the new UPPER(name) expressions. Without them the planner guesses how many
    # customers a pattern matches, and for a pattern that matches nobody it walked the recency index through all
    # of them (5.2 s at 1M) instead of asking the trigram index (12 ms). About 2 s at 1M customers.
    schema_editor.execute(f"ANALYZE {TABLE}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED_COLUMNS:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index_name(column)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("customers", "0007_refund_line"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
