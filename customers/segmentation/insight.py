"""Segment insight (人群透视): how a segment's members are distributed. Each figure is one GROUP BY over the
members query; nothing loops over customers."""

from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Gender, OrderLine, Product, Tier

from .lifecycle import stage_label
from .rfm import group_label

AGE_BANDS = [(0, 17), (18, 24), (25, 29), (30, 34), (35, 39), (40, 49), (50, 200)]
AOV_BANDS = [(0, 50), (50, 100), (100, 200), (200, 500), (500, 1000), (1000, None)]
TOP = 10


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def _age_band_expr(today: date) -> Case:
    whens = []
    for lo, hi in AGE_BANDS:
        label = f"{lo}–{hi}" if hi < 200 else f"{lo}+"
        if lo == 0:
            label = f"<{hi + 1}"
        whens.append(When(birthday__lte=_years_ago(today, lo), birthday__gt=_years_ago(today, hi + 1),
                          then=Value(label)))
    return Case(*whens, default=Value(""), output_field=CharField())


def _aov_band_expr() -> Case:
    whens = []
    for lo, hi in AOV_BANDS:
        label = f"{lo}–{hi}" if hi else f"{lo}+"
        q = Q(avg_order_value__gte=lo) & (Q(avg_order_value__lt=hi) if hi else Q())
        whens.append(When(q & Q(paid_order_count__gt=0), then=Value(label)))
    return Case(*whens, default=Value(""), output_field=CharField())


OTHERS = "__others__"


def _label(key, label) -> str:
    if key in ("", None):
        return _("Unknown")
    if key == OTHERS:
        return _("Others")
    return str(label(key)) if label else str(key)


def _dimensions(today: date) -> dict:
    return {
        "gender": F("gender"),
        "age": _age_band_expr(today),
        "province": F("province"),
        "tier": F("tier_id"),
        "rfm_group": F("rfm_group"),
        "lifecycle": F("lifecycle_stage"),
        "aov": _aov_band_expr(),
    }


def _counts_grouping_sets(members: QuerySet, dims: dict) -> tuple[dict, dict]:
    """PostgreSQL: every distribution and the totals in ONE scan of the members (GROUP BY GROUPING SETS)."""
    names = list(dims)
    inner = members.order_by().values(**{f"d_{n}": e for n, e in dims.items()}, p=F("paid_order_count"),
                                      t=F("total_paid"))
    sql, params = inner.query.sql_with_params()
    columns = ", ".join(f"d_{n}" for n in names)
    groupings = ", ".join(f"GROUPING(d_{n})" for n in names)
    sets = ", ".join(f"(d_{n})" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {columns}, {groupings}, COUNT(*), SUM(CASE WHEN p > 0 THEN 1 ELSE 0 END),
                       SUM(CASE WHEN p > 1 THEN 1 ELSE 0 END), SUM(t), SUM(p)
                FROM ({sql}) x GROUP BY GROUPING SETS ({sets}, ())""",
            params,
        )
        rows = cursor.fetchall()
    counts: dict[str, list] = {n: [] for n in names}
    totals = {"members": 0, "paying": 0, "repeat": 0, "total_paid": None, "orders": 0}
    k = len(names)
    for row in rows:
        keys, flags, (n, paying, repeat, total, orders) = row[:k], row[k:2 * k], row[2 * k:]
        grouped = [i for i, flag in enumerate(flags) if flag == 0]
        if grouped:
            counts[names[grouped[0]]].append((keys[grouped[0]], n))
        else:
            totals = {"members": n, "paying": paying or 0, "repeat": repeat or 0, "total_paid": total,
                      "orders": orders or 0}
    return counts, totals


def _counts_one_by_one(members: QuerySet, dims: dict) -> tuple[dict, dict]:
    counts = {name: list(members.order_by().values(k=expr).annotate(n=Count("id")).values_list("k", "n"))
              for name, expr in dims.items()}
    totals = members.order_by().aggregate(
        members=Count("id"),
        paying=Count("id", filter=Q(paid_order_count__gt=0)),
        repeat=Count("id", filter=Q(paid_order_count__gt=1)),
        total_paid=Sum("total_paid"),
        orders=Sum("paid_order_count"),
    )
    return counts, totals


def _shape(rows, *, label=None, order=None, limit=None) -> list[dict]:
    rows = list(rows)
    if order is None:
        rows.sort(key=lambda r: (-r[1], str(r[0])))
    else:
        rows.sort(key=lambda r: order.get(r[0], 99))
    if limit and len(rows) > limit:
        rows = rows[:limit] + [(OTHERS, sum(n for _k, n in rows[limit:]))]
    return [{"key": k, "label": _label(k, label), "count": n} for k, n in rows]


@transaction.atomic
def segment_insight(members: QuerySet[Customer]) -> dict:
    """Distributions and headline figures for a members queryset (from selectors.segment_members)."""
    if connection.vendor == "postgresql":
        # JIT compilation costs ~100 ms per query here and never pays back at these sizes (segment_bench).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        counts, totals = _counts_grouping_sets(members, _dimensions(timezone.localdate()))
    else:
        counts, totals = _counts_one_by_one(members, _dimensions(timezone.localdate()))
    total_paid = totals["total_paid"] or Decimal("0")
    orders = totals["orders"] or 0
    genders = dict(Gender.choices)
    tiers = dict(Tier.objects.values_list("id", "name"))
    age_order = {(f"<{hi + 1}" if lo == 0 else f"{lo}–{hi}" if hi < 200 else f"{lo}+"): i
                 for i, (lo, hi) in enumerate(AGE_BANDS)}
    aov_order = {(f"{lo}–{hi}" if hi else f"{lo}+"): i for i, (lo, hi) in enumerate(AOV_BANDS)}
    return {
        "members": totals["members"],
        "paying": totals["paying"],
        "total_paid": total_paid,
        "aov": (Decimal(total_paid) / orders).quantize(Decimal("0.01")) if orders else Decimal("0"),
        "repurchase_rate": round(100 * totals["repeat"] / totals["paying"], 1) if totals["paying"] else 0.0,
        "distributions": {
            "gender": _shape(counts["gender"], label=lambda k: str(genders.get(k, k))),
            "age": _shape(counts["age"], order=age_order),
            "province": _shape(counts["province"], limit=TOP),
            "tier": _shape(counts["tier"], label=lambda k: tiers.get(k, str(k))),
            "rfm_group": _shape(counts["rfm_group"], label=group_label),
            "lifecycle": _shape(counts["lifecycle"], label=stage_label),
            "aov": _shape(counts["aov"], order=aov_order),
        },
        "top_products": top_products(members),
    }


def top_products(members: QuerySet[Customer], *, limit: int = TOP) -> list[dict]:
    """The products most members bought, each member counted once per product: distinct (product, buyer)
    pairs first, then counted (cheaper than COUNT(DISTINCT) per group, which sorts)."""
    pairs = (
        OrderLine.objects.filter(order__customer__in=members.order_by().values("id"), order__paid_at__isnull=False,
                                 product__isnull=False)
        .order_by().values("product_id", "order__customer_id").distinct()
    )
    sql, params = pairs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT x.product_id, COUNT(*) AS n FROM ({sql}) x GROUP BY x.product_id "
                       f"ORDER BY n DESC, x.product_id LIMIT %s", [*params, limit])
        rows = cursor.fetchall()
    titles = dict(Product.objects.filter(id__in=[r[0] for r in rows]).values_list("id", "title"))
    return [{"key": pk, "label": titles.get(pk, str(pk)), "count": n} for pk, n in rows]
