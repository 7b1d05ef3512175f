"""Segment insight (人群透视): how a segment's members are distributed. On PostgreSQL the members are read
once into a temporary table, then every distribution comes from one GROUP BY GROUPING SETS over it and the
top products from one join with the products-bought table; nothing loops over customers."""

from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, CustomerProduct, Gender, Product, Tier

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
        # A LEFT JOIN to the score table: blank, like an unscored customer, when a member has no row yet.
        "rfm_group": Coalesce(F("score__rfm_group"), Value("")),
        "lifecycle": Coalesce(F("score__lifecycle_stage"), Value("")),
        "aov": _aov_band_expr(),
    }


MEMBERS = "insight_members"


def _members_collect(members: QuerySet, dims: dict) -> None:
    """PostgreSQL: the members' ids and dimensions, read from the customers ONCE into a temporary table that
    the distributions and the top products both aggregate (each reading the wide customer table again cost
    as much as the aggregation itself)."""
    inner = members.order_by().values("id", **{f"d_{n}": e for n, e in dims.items()}, p=F("paid_order_count"),
                                      t=F("total_paid"))
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{MEMBERS}")  # schema-qualified: never a real table
        # Not ANALYZEd on purpose: that cost 0.2–0.4 s, and with statistics the planner hash-joined the members
        # to every row of the products-bought table (1.5 s) instead of probing its primary key (0.7 s).
        cursor.execute(f"CREATE TEMPORARY TABLE {MEMBERS} ON COMMIT DROP AS {sql}", params)


def _counts_grouping_sets(dims: dict) -> tuple[dict, dict]:
    """PostgreSQL: every distribution and the totals in ONE pass over the members (GROUP BY GROUPING SETS)."""
    names = list(dims)
    columns = ", ".join(f"d_{n}" for n in names)
    groupings = ", ".join(f"GROUPING(d_{n})" for n in names)
    sets = ", ".join(f"(d_{n})" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {columns}, {groupings}, COUNT(*), SUM(CASE WHEN p > 0 THEN 1 ELSE 0 END),
                       SUM(CASE WHEN p > 1 THEN 1 ELSE 0 END), SUM(t), SUM(p)
                FROM {MEMBERS} GROUP BY GROUPING SETS ({sets}, ())"""
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
        # 64 MB: the grouping sets hash in memory instead of sorting 100,000 rows to disk in 4 MB runs.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        dims = _dimensions(timezone.localdate())
        _members_collect(members, dims)
        counts, totals = _counts_grouping_sets(dims)
        products = _top_products_of_collected()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {MEMBERS}")
    else:
        counts, totals = _counts_one_by_one(members, _dimensions(timezone.localdate()))
        products = top_products(members)
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
        "top_products": products,
    }


def top_products(members: QuerySet[Customer], *, limit: int = TOP) -> list[dict]:
    """The products most members bought (each member counted once per product), from the products-bought
    table the segmentation refresh keeps (purchases.py): orders imported since the last refresh are not in it.
    (Joining members → orders → lines probed two big indexes per order line: 1.6–4 s for 100,000 members at
    3M orders.)"""
    rows = list(
        CustomerProduct.objects.filter(customer_id__in=members.order_by().values("id"))
        .order_by().values("product_id").annotate(n=Count("*")).order_by("-n", "product_id")
        .values_list("product_id", "n")[:limit]
    )
    return _with_titles(rows)


def _top_products_of_collected(limit: int = TOP) -> list[dict]:
    """top_products() of the members collected by _members_collect."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT b.product_id, COUNT(*) AS n FROM {MEMBERS} m
                JOIN {CustomerProduct._meta.db_table} b ON b.customer_id = m.id
                GROUP BY b.product_id ORDER BY n DESC, b.product_id LIMIT %s""",
            [limit],
        )
        return _with_titles(cursor.fetchall())


def _with_titles(rows) -> list[dict]:
    titles = dict(Product.objects.filter(id__in=[r[0] for r in rows]).values_list("id", "title"))
    return [{"key": pk, "label": titles.get(pk, str(pk)), "count": n} for pk, n in rows]


def insight_row_filter(members: QuerySet[Customer], *, dimension: str, key: str) -> QuerySet[Customer]:
    """The members counted in one row of the insight tables that has no list filter of its own: an age or
    order-value band (the same CASE the counts use), a product bought, or the paying members. Unknown
    dimensions select nobody."""
    if dimension == "age":
        return members.annotate(_band=_age_band_expr(timezone.localdate())).filter(_band=key)
    if dimension == "aov":
        return members.annotate(_band=_aov_band_expr()).filter(_band=key)
    if dimension == "product" and key.isdigit():
        return members.filter(pk__in=CustomerProduct.objects.filter(product_id=int(key)).values("customer_id"))
    if dimension == "paying":
        return members.filter(paid_order_count__gt=0)
    return members.none()

