"""What the PostgreSQL benches share: a database of their own, migrated, and Django set up against it."""

import os
import sys
from urllib.parse import urlsplit, urlunsplit


def django_setup(url: str, *, bench: str) -> None:
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"{bench} measures PostgreSQL: pass --database-url postgres://...")
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def not_null_defaults(table: str, given: set[str]) -> tuple[list[str], list[str]]:
    """Columns Django declares NOT NULL with only a Python-side default: the bench fills them by type."""
    from django.db import connection

    by_type = {"character varying": "''", "text": "''", "boolean": "false", "integer": "0", "bigint": "0",
               "smallint": "0", "numeric": "0", "jsonb": "'{}'::jsonb", "timestamp with time zone": "now()",
               "date": "current_date"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "AND is_nullable = 'NO' AND column_default IS NULL", [table])
        rows = [(c, t) for c, t in cursor.fetchall() if c not in given and c != "id"]
    return [c for c, _t in rows], [by_type[t] for _c, t in rows]
