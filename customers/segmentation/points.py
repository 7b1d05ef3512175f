"""The points ledger. Every write inserts entries and sets Customer.points_balance to the ledger sum of the
customers it touched, in the same transaction; no entry is ever changed or deleted."""

from datetime import datetime, time
from decimal import ROUND_FLOOR, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Order, OrderStatus, PointsEntry, SegmentationSettings

from ._sql import chunks

Kind = PointsEntry.Kind


def points_for(amount: Decimal | None, ratio: Decimal) -> int:
    if not amount or amount <= 0:
        return 0
    return int((Decimal(amount) * ratio).to_integral_value(rounding=ROUND_FLOOR))


def expiry_for(paid_at: datetime, shop: SegmentationSettings) -> datetime | None:
    if shop.points_expiry == SegmentationSettings.PointsExpiry.MONTHS:
        return paid_at + relativedelta(months=shop.points_expiry_months)
    if shop.points_expiry == SegmentationSettings.PointsExpiry.YEAR_END:
        # Points earned in a year expire when the year after it ends (shop local time).
        local = timezone.localtime(paid_at)
        return timezone.make_aware(datetime.combine(local.date().replace(year=local.year + 2, month=1, day=1),
                                                    time.min))
    return None


def balances_refresh(*, customer_ids) -> None:
    """Customer.points_balance := the ledger sum. Call inside the transaction that inserted the entries."""
    total = (
        PointsEntry.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
        .annotate(total=Sum("delta")).values("total")
    )
    for ids in chunks(customer_ids):
        Customer.objects.filter(id__in=ids).update(
            points_balance=Coalesce(Subquery(total, output_field=IntegerField()), Value(0))
        )


def _insert(entries: list[PointsEntry]) -> None:
    # ignore_conflicts: the per-order unique constraints make a second earn/reverse of an order a no-op.
    PointsEntry.objects.bulk_create(entries, batch_size=2000, ignore_conflicts=True)
    balances_refresh(customer_ids=sorted({e.customer_id for e in entries}))


@transaction.atomic
def points_sync_orders(*, customer_ids: list[int] | None = None) -> int:
    """Earn points on paid orders that have none yet; reverse them on orders refunded since. Idempotent."""
    shop = SegmentationSettings.load()
    if shop.points_per_yuan <= 0:
        return 0
    orders = Order.objects.filter(customer__isnull=False, customer__merged_into__isnull=True, paid_at__isnull=False)
    if customer_ids is not None:
        orders = orders.filter(customer_id__in=customer_ids)
    earned = PointsEntry.objects.filter(order=OuterRef("pk"), kind=Kind.EARN)
    reversed_ = PointsEntry.objects.filter(order=OuterRef("pk"), kind=Kind.REVERSE)
    entries = []
    for order_id, customer_id, paid, paid_at in orders.filter(~Exists(earned), paid_amount__gt=0).values_list(
        "id", "customer_id", "paid_amount", "paid_at"
    ).iterator(chunk_size=5000):
        if points := points_for(paid, shop.points_per_yuan):
            entries.append(PointsEntry(customer_id=customer_id, order_id=order_id, kind=Kind.EARN, delta=points,
                                       created_at=paid_at, expires_at=expiry_for(paid_at, shop)))
    _insert(entries)
    refunded = orders.filter(Exists(earned), ~Exists(reversed_)).filter(
        Q(refund_amount__gt=0) | Q(status=OrderStatus.CLOSED)
    ).annotate(earned_points=Subquery(earned.values("delta")[:1]))
    reversals = []
    for order_id, customer_id, paid, refund, status, points in refunded.values_list(
        "id", "customer_id", "paid_amount", "refund_amount", "status", "earned_points"
    ).iterator(chunk_size=5000):
        if status == OrderStatus.CLOSED or not paid or (refund or 0) >= paid:
            back = points
        else:
            back = int((Decimal(points) * refund / paid).to_integral_value(rounding=ROUND_FLOOR))
        if back:
            reversals.append(PointsEntry(customer_id=customer_id, order_id=order_id, kind=Kind.REVERSE,
                                         delta=-back, reason=str(_("Order refunded"))))
    _insert(reversals)
    return len(entries) + len(reversals)


@transaction.atomic
def points_adjust(*, customer: Customer, delta: int, reason: str, actor) -> PointsEntry:
    """Add or take away points by hand, with a reason."""
    if not delta:
        raise ValidationError({"delta": _("Enter a number of points other than zero.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason for the adjustment.")})
    return _write_one(customer=customer, delta=delta, kind=Kind.ADJUST, reason=reason.strip(), actor=actor)


@transaction.atomic
def points_redeem(*, customer: Customer, points: int, reason: str, actor) -> PointsEntry:
    """Spend points (for a coupon, once coupons exist; until then the ledger entry is the redemption)."""
    if points <= 0:
        raise ValidationError({"points": _("Enter a positive number of points.")})
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if points > locked.points_balance:
        raise ValidationError({"points": _("The customer has only %(balance)d points.") % {
            "balance": locked.points_balance}})
    return _write_one(customer=locked, delta=-points, kind=Kind.REDEEM, reason=reason.strip(), actor=actor)


def _write_one(*, customer: Customer, delta: int, kind: str, reason: str, actor) -> PointsEntry:
    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # one writer per customer at a time
    entry = PointsEntry(customer_id=customer.pk, delta=delta, kind=kind, reason=reason[:200],
                        created_by=actor if getattr(actor, "is_authenticated", False) else None)
    entry.full_clean()
    entry.save()
    balances_refresh(customer_ids=[customer.pk])
    customer.refresh_from_db(fields=["points_balance"])
    return entry


@transaction.atomic
def points_expire(*, now=None) -> int:
    """Expire points whose date has passed. Points are spent oldest first, so what expires is what was earned
    with an expiry date up to now, less everything ever spent, reversed or expired (when positive). Running
    it twice expires nothing the second time: the first run's entries count as spent."""
    now = now or timezone.now()
    due = (
        PointsEntry.objects.order_by().values("customer")
        .annotate(
            due=Coalesce(Sum("delta", filter=Q(delta__gt=0, expires_at__lte=now)), 0),
            spent=Coalesce(-Sum("delta", filter=Q(delta__lt=0)), 0),
        )
        .filter(due__gt=0)
    )
    entries = [
        PointsEntry(customer_id=row["customer"], delta=-(row["due"] - row["spent"]), kind=Kind.EXPIRE,
                    created_at=now, reason=str(_("Points expired")))
        for row in due.iterator(chunk_size=5000)
        if row["due"] > row["spent"]
    ]
    _insert(entries)
    return len(entries)
