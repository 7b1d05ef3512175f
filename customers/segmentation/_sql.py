"""Small portability helpers for the set-based SQL of this package (PostgreSQL and SQLite >= 3.33)."""

from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import connection

# SQLite allows 32,766 bound variables per statement; stay far below it.
CHUNK = 5000


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    it = iter(ids)
    while batch := list(islice(it, size)):
        yield batch


def dt(value):
    """A datetime as the backend wants it in a raw query."""
    return connection.ops.adapt_datetimefield_value(value)


def is_distinct() -> str:
    return "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"


def as_json(text_expr: str) -> str:
    """Cast a text expression holding JSON to the JSONField column type."""
    return f"CAST({text_expr} AS jsonb)" if connection.vendor == "postgresql" else text_expr


def in_ids(column: str, ids: list[int] | None) -> tuple[str, list]:
    if ids is None:
        return "", []
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)
