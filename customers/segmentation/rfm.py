"""RFM scores 1–5 and the eight classic RFM groups, computed in one scan of all customers
(the statements are in scores.py, which also sets the lifecycle stages).

Scores are relative to the shop's paying customers (quintiles) or absolute (the shop's thresholds).
Quintiles use PERCENT_RANK rather than NTILE: NTILE splits tied values across buckets arbitrarily (half the
customers have exactly one order), so a customer's cell could change between two runs with no new data.
PERCENT_RANK gives every tied value the same rank, so equal customers always get equal scores.
Customers with no paid order get no score (NULL) and no group.
"""

from django.db import connection
from django.utils.translation import gettext_lazy as _

from customers.models import SegmentationSettings

# Score >= HIGH counts as "high" for the eight groups (the classic split at the middle of 1–5).
HIGH = 3

# (R high, F high, M high) → group. Order is the grid's order.
GROUPS: dict[str, tuple[tuple[bool, bool, bool], object]] = {
    "important_value": ((True, True, True), _("Important value customers")),  # 重要价值客户
    "important_develop": ((True, False, True), _("Important customers to develop")),  # 重要发展客户
    "important_keep": ((False, True, True), _("Important customers to keep")),  # 重要保持客户
    "important_retain": ((False, False, True), _("Important customers to win back")),  # 重要挽留客户
    "general_value": ((True, True, False), _("General value customers")),  # 一般价值客户
    "general_develop": ((True, False, False), _("General customers to develop")),  # 一般发展客户
    "general_keep": ((False, True, False), _("General customers to keep")),  # 一般保持客户
    "general_retain": ((False, False, False), _("General customers to win back")),  # 一般挽留客户
}

DEFAULT_R_DAYS = [30, 90, 180, 365]
DEFAULT_F_ORDERS = [2, 3, 5, 8]
DEFAULT_M_AMOUNTS = [200, 500, 1000, 3000]


def group_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, (_flags, label) in GROUPS.items()]


def group_label(key: str) -> str:
    return str(GROUPS[key][1]) if key in GROUPS else ""


def group_case_sql() -> str:
    """The RFM group of columns r, f, m of a relation aliased `s` (NULL when unscored)."""
    whens = []
    for key, ((r, f, m), _label) in GROUPS.items():
        cond = " AND ".join(
            f"s.{col} {'>=' if high else '<'} {HIGH}" for col, high in (("r", r), ("f", f), ("m", m))
        )
        whens.append(f"WHEN {cond} THEN '{key}'")
    return "CASE " + " ".join(whens) + " END"


def _threshold_cases(*, now, r_days, f_orders, m_amounts) -> tuple[tuple[str, str, str], list]:
    """CASE expressions scoring R, F and M by the shop's limits (inclusive), and their parameters in order."""
    from datetime import timedelta

    params: list = []
    r_whens = []
    for i, days in enumerate(r_days):  # within the 1st threshold → 5
        r_whens.append(f"WHEN last_paid_at >= %s THEN {5 - i}")
        params.append(connection.ops.adapt_datetimefield_value(now - timedelta(days=int(days))))
    r_case = "CASE " + " ".join(r_whens) + " ELSE 1 END"

    def ascending(column: str, limits) -> str:
        whens = []
        for i, limit in reversed(list(enumerate(limits))):  # at least the 4th threshold → 5
            whens.append(f"WHEN {column} >= %s THEN {i + 2}")
            params.append(float(limit))
        return "CASE " + " ".join(whens) + " ELSE 1 END"

    f_case = ascending("paid_order_count", f_orders)
    m_case = ascending("total_paid", m_amounts)
    return (r_case, f_case, m_case), params


PAYING = "last_paid_at IS NOT NULL AND paid_order_count > 0"


def score_columns_sql(*, now, shop: SegmentationSettings) -> tuple[str, list]:
    """`r, f, m` as select-list expressions over the rows of ONE scan of unmerged customers (NULL for customers
    with no paid order), so the recompute reads the table once instead of scoring in a subquery and joining it
    back. Quintiles: 1 + floor(percent_rank * 5), capped at 5, ranked within PARTITION BY (paying) so that the
    paying customers are ranked among themselves only. (PostgreSQL's CAST to integer rounds, SQLite's
    truncates: floor explicitly on PostgreSQL.)"""
    if shop.rfm_mode == SegmentationSettings.RfmMode.THRESHOLDS:
        (r, f, m), params = _threshold_cases(
            now=now, r_days=shop.rfm_r_days or DEFAULT_R_DAYS, f_orders=shop.rfm_f_orders or DEFAULT_F_ORDERS,
            m_amounts=shop.rfm_m_amounts or DEFAULT_M_AMOUNTS,
        )
    else:
        params = []
        pg = connection.vendor == "postgresql"

        def score(order_by: str) -> str:
            rank = f"PERCENT_RANK() OVER (PARTITION BY ({PAYING}) ORDER BY {order_by}) * 5"
            return f"LEAST(5, 1 + CAST(FLOOR({rank}) AS INTEGER))" if pg else f"MIN(5, 1 + CAST({rank} AS INTEGER))"

        r, f, m = score("last_paid_at"), score("paid_order_count"), score("total_paid")
    paying_only = [f"CASE WHEN {PAYING} THEN {expr} END" for expr in (r, f, m)]
    return f"{paying_only[0]} AS r, {paying_only[1]} AS f, {paying_only[2]} AS m", params
