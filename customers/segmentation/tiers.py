"""Membership tiers: automatic upgrades after imports, downgrades only by the yearly review or by hand.

A tier's threshold is cumulative paid amount or paid order count (the shop chooses), counted over the
customer's whole history or over the last `tier_window_days`. Upgrades and the review count the same way,
so a customer the review moved down is not moved straight back up by the next import.
"""

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Order, SegmentationSettings, Tier
from customers.services.timeline import TimelineRow, timeline_record_many

from ._sql import chunks

MAX_TIERS = 6
TIMELINE_KIND = "tier_changed"


def tier_threshold(tier: Tier, shop: SegmentationSettings):
    if shop.tier_basis == SegmentationSettings.TierBasis.ORDERS:
        return tier.min_paid_orders
    return tier.min_total_paid


def _metric(shop: SegmentationSettings, *, now):
    """The number a tier threshold is compared with, as an expression over Customer."""
    by_orders = shop.tier_basis == SegmentationSettings.TierBasis.ORDERS
    if not shop.tier_window_days:
        return F("paid_order_count") if by_orders else F("total_paid")
    since = now - timedelta(days=shop.tier_window_days)
    orders = Order.objects.filter(customer=OuterRef("pk"), paid_at__gte=since).order_by().values("customer")
    if by_orders:
        aggregate = orders.annotate(n=Count("id")).values("n")
        return Coalesce(Subquery(aggregate, output_field=IntegerField()), Value(0))
    aggregate = orders.annotate(total=Sum("paid_amount")).values("total")
    money = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(aggregate, output_field=money), Value(Decimal("0")), output_field=money)


def _record_changes(*, ids: list[int], old_names: dict, new_tier: Tier | None, reason: dict, actor=None, now) -> None:
    """On each customer's timeline: from which tier to which, and why. `reason` is data the page renders in the
    reader's language (customers/services/timeline.py): {"reason": "upgrade", "threshold": …}, {"reason":
    "yearly_review"}, or {"reason": <the text a person gave>}."""
    new_name = new_tier.name if new_tier else None
    rows = [
        TimelineRow(customer_id=pk, kind=TIMELINE_KIND, data={"from": old_names.get(pk), "to": new_name, **reason})
        for pk in ids
    ]
    timeline_record_many(rows, occurred_at=now, actor=actor)


def _move(*, queryset, tier: Tier | None, reason: dict, actor=None, now) -> int:
    rows = list(queryset.values_list("id", "tier__name"))
    moved = 0
    for batch in chunks(rows):
        ids = [pk for pk, _name in batch]
        _record_changes(ids=ids, old_names=dict(batch), new_tier=tier, reason=reason, actor=actor, now=now)
        moved += Customer.objects.filter(id__in=ids).update(tier=tier)
    return moved


@transaction.atomic
def tiers_upgrade(*, customer_ids: list[int] | None = None, now=None) -> int:
    """Move customers up to the highest tier they qualify for. Never moves anyone down."""
    now = now or timezone.now()
    shop = SegmentationSettings.load()
    customers = Customer.objects.active()
    if customer_ids is not None:
        customers = customers.filter(id__in=customer_ids)
    customers = customers.alias(metric=_metric(shop, now=now))
    moved = 0
    for tier in Tier.objects.order_by("-rank"):
        threshold = tier_threshold(tier, shop)
        if threshold is None:
            continue  # a tier without a threshold for this basis is given by hand only
        eligible = customers.filter(metric__gte=threshold).filter(Q(tier__isnull=True) | Q(tier__rank__lt=tier.rank))
        reason = {"reason": "upgrade", "threshold": str(threshold)}
        moved += _move(queryset=eligible, tier=tier, reason=reason, now=now)
    return moved


@transaction.atomic
def tiers_yearly_review(*, now=None, actor=None) -> int:
    """The explicit yearly review: move down every customer whose count no longer reaches their tier."""
    now = now or timezone.now()
    shop = SegmentationSettings.load()
    tiers = [t for t in Tier.objects.order_by("-rank") if tier_threshold(t, shop) is not None]
    target_rank = Case(
        *[When(metric__gte=tier_threshold(t, shop), then=Value(t.rank)) for t in tiers],
        default=Value(0),
        output_field=IntegerField(),
    )
    customers = (
        Customer.objects.active()
        .filter(tier__isnull=False)
        .alias(metric=_metric(shop, now=now))
        .alias(target_rank=target_rank)
        .filter(tier__rank__gt=F("target_rank"))
    )
    reason = {"reason": "yearly_review"}
    moved = 0
    for tier in [*tiers, None]:
        rank = tier.rank if tier else 0
        moved += _move(queryset=customers.filter(target_rank=rank), tier=tier, reason=reason, actor=actor, now=now)
    return moved


@transaction.atomic
def tier_assign(*, customer: Customer, tier: Tier | None, reason: str, actor) -> Customer:
    """Set one customer's tier by hand (up or down), with the reason on the timeline."""
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for changing the tier by hand.")})
    customer = Customer.objects.select_for_update(of=("self",)).select_related("tier").get(pk=customer.pk)
    if customer.tier_id == (tier.pk if tier else None):
        return customer
    _record_changes(
        ids=[customer.pk], old_names={customer.pk: customer.tier.name if customer.tier else None}, new_tier=tier,
        reason={"reason": reason.strip()}, actor=actor, now=timezone.now(),
    )
    customer.tier = tier
    customer.save(update_fields=["tier", "updated_at"])
    return customer


def tier_validate_count(*, adding: bool) -> None:
    if adding and Tier.objects.count() >= MAX_TIERS:
        raise ValidationError(_("A shop has at most %(max)d tiers.") % {"max": MAX_TIERS})
