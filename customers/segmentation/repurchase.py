"""Typical repurchase interval per product: the median of the days between one customer's consecutive paid
purchases of it. Window functions (LAG, ROW_NUMBER, COUNT OVER) in one query; PostgreSQL and SQLite."""

from django.db import connection, transaction

from customers.models import Order, OrderLine, Product


def _days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0"
    return f"(julianday({later}) - julianday({earlier}))"


def _medians_sql() -> str:
    lines, orders = OrderLine._meta.db_table, Order._meta.db_table
    return f"""
    WITH purchases AS (
        SELECT DISTINCT l.product_id AS product_id, o.customer_id AS customer_id, o.id AS order_id,
               o.paid_at AS paid_at
        FROM {lines} l JOIN {orders} o ON o.id = l.order_id
        WHERE l.product_id IS NOT NULL AND o.customer_id IS NOT NULL AND o.paid_at IS NOT NULL
    ), gaps AS (
        SELECT product_id,
               {_days_between("paid_at", "LAG(paid_at) OVER (PARTITION BY product_id, customer_id ORDER BY paid_at)")}
               AS days
        FROM purchases
    ), ranked AS (
        SELECT product_id, days,
               ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY days) AS n,
               COUNT(*) OVER (PARTITION BY product_id) AS total
        FROM gaps
        WHERE days >= 1  -- two orders on the same day are one shopping trip, not a repurchase
    )
    SELECT product_id, AVG(days) FROM ranked
    WHERE n IN ((total + 1) / 2, (total + 2) / 2)  -- the middle one, or the mean of the middle two
    GROUP BY product_id
    """


@transaction.atomic
def repurchase_intervals_refresh() -> int:
    """Set Product.repurchase_interval_days for every product (NULL when nobody bought it twice)."""
    with connection.cursor() as cursor:
        cursor.execute(_medians_sql())
        medians = {product_id: round(float(days)) for product_id, days in cursor.fetchall()}
    products = list(Product.objects.only("id", "repurchase_interval_days"))
    changed = [p for p in products if p.repurchase_interval_days != medians.get(p.id)]
    for product in changed:
        product.repurchase_interval_days = medians.get(product.id)
    Product.objects.bulk_update(changed, ["repurchase_interval_days"], batch_size=1000)
    return len(changed)
