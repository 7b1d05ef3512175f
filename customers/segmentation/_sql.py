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


# The key of the advisory lock every segmentation refresh holds (any bigint no other lock of ours uses).
REFRESH_LOCK_KEY = 7_312_018


def refresh_lock() -> None:
    """One segmentation refresh at a time: wait until any other has committed, for the rest of this transaction.

    Two refreshes at once (two imports finishing together) both saw the same customers without a score row and
    both inserted one: the second failed on the primary key and rolled back everyone's points and tier. Waiting
    costs seconds; the later refresh then sees what the first wrote (READ COMMITTED: each statement takes a new
    snapshot). Must be called inside a transaction (the lock goes with it). SQLite writes one at a time anyway."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("refresh_lock() needs a transaction: the lock is released when it ends")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK_KEY])
