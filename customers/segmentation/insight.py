"""Segment insight (人群透视): how a segment's members are distributed. Each figure is one GROUP BY over the
members query; nothing loops over customers."""

from datetime import date
from decimal import Decimal

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Gender, OrderLine, Tier

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


def _distribution(members: QuerySet, expr, *, label=None, order=None, limit=None) -> list[dict]:
    """[{key, label, count}] of members grouped by `expr` (a field name or an expression)."""
    expr = F(expr) if isinstance(expr, str) else expr
    rows = list(members.order_by().values(k=expr).annotate(n=Count("id")).values_list("k", "n"))
    if order is None:
        rows.sort(key=lambda r: (-r[1], str(r[0])))
    else:
        rows.sort(key=lambda r: order.get(r[0], 99))
    if limit and len(rows) > limit:
        rows = rows[:limit] + [(OTHERS, sum(n for _k, n in rows[limit:]))]
    return [{"key": k, "label": _label(k, label), "count": n} for k, n in rows]


OTHERS = "__others__"


def _label(key, label) -> str:
    if key in ("", None):
        return _("Unknown")
    if key == OTHERS:
        return _("Others")
    return str(label(key)) if label else str(key)


def segment_insight(members: QuerySet[Customer]) -> dict:
    """Distributions and headline figures for a members queryset (from selectors.segment_members)."""
    today = timezone.localdate()
    totals = members.order_by().aggregate(
        members=Count("id"),
        paying=Count("id", filter=Q(paid_order_count__gt=0)),
        repeat=Count("id", filter=Q(paid_order_count__gt=1)),
        total_paid=Sum("total_paid"),
        orders=Sum("paid_order_count"),
    )
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
        "aov": (total_paid / orders).quantize(Decimal("0.01")) if orders else Decimal("0"),
        "repurchase_rate": round(100 * totals["repeat"] / totals["paying"], 1) if totals["paying"] else 0.0,
        "distributions": {
            "gender": _distribution(members, "gender", label=lambda k: str(genders.get(k, k))),
            "age": _distribution(members, _age_band_expr(today), order=age_order),
            "province": _distribution(members, "province", limit=TOP),
            "tier": _distribution(members, "tier_id", label=lambda k: tiers.get(k, str(k))),
            "rfm_group": _distribution(members, "rfm_group", label=group_label),
            "lifecycle": _distribution(members, "lifecycle_stage", label=stage_label),
            "aov": _distribution(members, _aov_band_expr(), order=aov_order),
        },
        "top_products": top_products(members),
    }


def top_products(members: QuerySet[Customer], *, limit: int = TOP) -> list[dict]:
    """The products most members bought (members counted once per product)."""
    rows = (
        OrderLine.objects.filter(order__customer__in=members.order_by().values("id"), order__paid_at__isnull=False,
                                 product__isnull=False)
        .values("product_id", "product__title")
        .annotate(buyers=Count("order__customer", distinct=True))
        .order_by("-buyers", "product_id")[:limit]
    )
    return [{"key": r["product_id"], "label": r["product__title"], "count": r["buyers"]} for r in rows]
