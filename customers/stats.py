"""Derived customer figures, recomputed in SQL for the customers that changed (never row by row in Python).

Definitions:
- order_count: every order of the customer; first/last_order_at: earliest/latest 订单创建时间.
- paid_order_count, total_paid, first/last_paid_at: orders whose status is paid, shipped or completed (a closed
  order was never paid, or was refunded in full); total_paid sums 买家实际支付金额 (unknown amounts count as 0).
- avg_order_value: total_paid / paid_order_count, 0 without paid orders.
- refund_total: the sum of the orders' 退款金额 (present in every 订单报表 layout, so it does not depend on a
  refund export having been imported); return_count: successful refunds (退款成功) that required a return.
"""

from django.db import connection

from .importing.sql import IN_BATCH, is_postgres, table
from .models import Customer, Order, OrderStatus, Refund

PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
FIGURES = [
    "order_count",
    "paid_order_count",
    "total_paid",
    "avg_order_value",
    "refund_total",
    "return_count",
    "first_order_at",
    "last_order_at",
    "first_paid_at",
    "last_paid_at",
]


def _aggregate_sql(where: str) -> str:
    paid = "o.status IN ({})".format(", ".join(f"'{s}'" for s in PAID_STATUSES))
    total_paid = f"COALESCE(SUM(CASE WHEN {paid} THEN COALESCE(o.paid_amount, 0) END), 0)"
    paid_count = f"COUNT(CASE WHEN {paid} THEN 1 END)"
    # A correlated count per customer (the refund's customer index), not an aggregate over every refund.
    returns = (
        f"(SELECT COUNT(*) FROM {table(Refund)} r WHERE r.customer_id = c.id AND r.status_text = '退款成功' "
        f"AND r.needs_return {'IS TRUE' if is_postgres() else '= 1'})"
    )
    return f"""
        SELECT c.id AS cid,
               COUNT(o.id) AS order_count,
               {paid_count} AS paid_order_count,
               {total_paid} AS total_paid,
               CASE WHEN {paid_count} > 0 THEN ROUND({total_paid} / {paid_count}, 2) ELSE 0 END AS avg_order_value,
               COALESCE(SUM(COALESCE(o.refund_amount, 0)), 0) AS refund_total,
               {returns} AS return_count,
               MIN(o.ordered_at) AS first_order_at,
               MAX(o.ordered_at) AS last_order_at,
               MIN(CASE WHEN {paid} THEN o.paid_at END) AS first_paid_at,
               MAX(CASE WHEN {paid} THEN o.paid_at END) AS last_paid_at
          FROM {table(Customer)} c
          LEFT JOIN {table(Order)} o ON o.customer_id = c.id
         WHERE {where}
         GROUP BY c.id
    """


def _refresh(where: str, params: list) -> list[int]:
    sets = ", ".join(f"{f} = a.{f}" for f in FIGURES)
    target = table(Customer)
    changed = " OR ".join(f"{target}.{f} IS DISTINCT FROM a.{f}" for f in FIGURES)
    sql = f"""
        UPDATE {target} SET {sets}
          FROM ({_aggregate_sql(where)}) a
         WHERE {target}.id = a.cid AND ({changed})
        RETURNING {target}.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def customer_stats_refresh(*, customer_ids: list[int] | None = None) -> list[int]:
    """Recompute the derived figures of `customer_ids` (every customer when None) in SQL; only rows whose figures
    actually change are written. Returns the ids of the customers that changed."""
    if customer_ids is None:
        return _refresh("true", [])
    ids = sorted({int(i) for i in customer_ids if i is not None})
    if not ids:
        return []
    if is_postgres():
        return _refresh("c.id = ANY(%s)", [ids])
    changed: list[int] = []
    for start in range(0, len(ids), IN_BATCH):
        part = ids[start : start + IN_BATCH]
        changed += _refresh(f"c.id IN ({', '.join(['%s'] * len(part))})", part)
    return changed
