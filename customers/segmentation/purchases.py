"""Which products each customer has bought (CustomerProduct): derived from paid orders and their lines, in
set-based SQL. Refreshed with the segmentation (after an import or a merge, for the customers it touched;
at night for everyone), so segment insight counts from it instead of joining orders and lines."""

from django.db import connection, transaction

from customers.models import CustomerProduct, Order, OrderLine

from ._sql import chunks, in_ids


def _bought_sql(scope: str) -> str:
    lines, orders = OrderLine._meta.db_table, Order._meta.db_table
    return f"""
        SELECT DISTINCT o.customer_id, l.product_id FROM {orders} o JOIN {lines} l ON l.order_id = o.id
        WHERE o.paid_at IS NOT NULL AND o.customer_id IS NOT NULL AND l.product_id IS NOT NULL{scope}
    """


@transaction.atomic
def customer_products_refresh(*, customer_ids: list[int] | None = None) -> int:
    """Make CustomerProduct match the paid order lines of every (or the given) customers. Returns the number
    of rows added and removed."""
    if customer_ids is None:
        return _refresh_all()
    return sum(_refresh_customers(ids) for ids in chunks(sorted(set(customer_ids))))


def _refresh_customers(ids: list[int]) -> int:
    """Delete and insert again: a few rows per customer, found by the primary key (customer, product)."""
    table = CustomerProduct._meta.db_table
    scope, params = in_ids("customer_id", ids)
    bought_scope, bought_params = in_ids("o.customer_id", ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE 1 = 1{scope}", params)
        removed = cursor.rowcount
        cursor.execute(f"INSERT INTO {table} (customer_id, product_id) {_bought_sql(bought_scope)}", bought_params)
        return removed + cursor.rowcount


def _refresh_all() -> int:
    """Only the differences are written (a night usually changes nothing): the pairs as they should be go to a
    temporary table, then missing ones are inserted and stale ones deleted."""
    table = CustomerProduct._meta.db_table
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if pg:
            cursor.execute("SET LOCAL work_mem = '256MB'")  # the DISTINCT over every paid line hashes in memory
        cursor.execute(f"DROP TABLE IF EXISTS {'pg_temp' if pg else 'temp'}.customer_products_bought")
        cursor.execute(f"CREATE TEMP TABLE customer_products_bought AS {_bought_sql('')}")
        if pg:
            cursor.execute("ANALYZE customer_products_bought")
        cursor.execute(
            f"""INSERT INTO {table} (customer_id, product_id)
                SELECT b.customer_id, b.product_id FROM customer_products_bought b
                WHERE NOT EXISTS (SELECT 1 FROM {table} t
                                  WHERE t.customer_id = b.customer_id AND t.product_id = b.product_id)"""
        )
        added = cursor.rowcount
        cursor.execute(
            f"""DELETE FROM {table} WHERE NOT EXISTS (
                    SELECT 1 FROM customer_products_bought b
                    WHERE b.customer_id = {table}.customer_id AND b.product_id = {table}.product_id)"""
        )
        removed = cursor.rowcount
        cursor.execute("DROP TABLE customer_products_bought")
        if pg and added + removed > 10_000:
            cursor.execute(f"ANALYZE {table}")
    return added + removed
