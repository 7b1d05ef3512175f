"""Merging a duplicate customer into another, and undoing it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.services import audit_record
from customers.audit import CustomerAudit
from customers.merging import merge_moves
from customers.models import Customer, CustomerMerge, CustomerScore, PointsEntry

from .timeline import timeline_record


# What moves from the merged-away customer to the one that stays, in the order it is moved back on undo.
# Rows that would collide with the target's own (the same address fingerprint, tag, or timeline dedupe key)
# stay with the source: the target already has that fact, and undo then restores exactly what moved.
def _refresh_derived(customer_ids: list[int], *, segments: bool = True) -> None:
    """Recompute order figures and segmentation for the customers a merge touched."""
    from customers.segmentation.points import balances_refresh
    from customers.segmentation.services import segmentation_refresh
    from customers.stats import customer_stats_refresh

    customer_stats_refresh(customer_ids=customer_ids)
    balances_refresh(customer_ids=customer_ids)
    if segments:
        segmentation_refresh(customer_ids=customer_ids)


def customer_merge(
    *, source: Customer, target: Customer, actor=None, refresh_segments: bool = True
) -> CustomerMerge:
    """Merge `source` (a duplicate) into `target`: the rows of every registered move (customers/merging.py:
    orders, refunds, addresses, notes, timeline, tags, points, and what other apps add) move; `source` stays
    as a row with `merged_into` set. `CustomerMerge.moved` keeps the moved ids so `customer_unmerge` restores
    exactly. Logged in the audit trail and on both timelines.

    `refresh_segments=False` leaves the segmentation refresh to the caller: an import merges many customers
    and refreshes the segmentation once for all of them afterwards."""
    if source.pk == target.pk:
        raise ValidationError({"source": [_("A customer cannot be merged into itself.")]})
    with transaction.atomic():
        # Lock both rows in id order, so two merges of the same pair cannot interleave or deadlock.
        locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
                  .order_by("pk")}
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id or target.merged_into_id:
            raise ValidationError({"source": [_("Only customers that are not merged already can be merged.")]})
        moved = {}
        for move in merge_moves():
            moved[move.name] = move.movable_ids(source_id=source.pk, target_id=target.pk)
            move.move(moved[move.name], from_id=source.pk, to_id=target.pk)
        source.merged_into = target
        source.save(update_fields=["merged_into", "updated_at"])
        # A merged-away customer is in no segment and no RFM cell: its scores and stage go (an undo scores
        # it again, as a new customer, in the refresh that follows).
        CustomerScore.objects.filter(customer=source).delete()
        merge = CustomerMerge.objects.create(source=source, target=target, merged_by=_user(actor), moved=moved)
        counts = {kind: len(ids) for kind, ids in moved.items()}
        audit_record(actor=actor, action=CustomerAudit.MERGE, object_type="customer", object_id=target.pk,
                     detail={"merge_id": merge.pk, "source_id": source.pk, "target_id": target.pk, "moved": counts})
        names = {"source": source.display_name, "target": target.display_name}  # masked: shown to every role
        for customer in (target, source):
            timeline_record(customer=customer, kind="customer_merged", actor=actor,
                            data={"merge_id": merge.pk, "moved": counts, **names})
        _refresh_derived([source.pk, target.pk], segments=refresh_segments)
    return merge


def customer_unmerge(*, merge: CustomerMerge, actor=None) -> CustomerMerge:
    """Undo a merge: exactly the rows that moved go back, and the source is active again."""
    with transaction.atomic():
        merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at:
            raise ValidationError(_("This merge was undone already."))
        source = Customer.objects.select_for_update().get(pk=merge.source_id)
        target = Customer.objects.select_for_update().get(pk=merge.target_id)
        if target.merged_into_id:
            raise ValidationError(_("The customer this was merged into was merged on; undo that merge first."))
        for move in reversed(merge_moves()):
            move.move(merge.moved.get(move.name, []), from_id=target.pk, to_id=source.pk)
        # Points earned or reversed on the moved orders while they were the target's go back with the orders.
        PointsEntry.objects.filter(customer_id=target.pk, order_id__in=merge.moved.get("orders", [])).update(
            customer_id=source.pk
        )
        source.merged_into = None
        source.save(update_fields=["merged_into", "updated_at"])
        merge.undone_at = timezone.now()
        merge.save(update_fields=["undone_at"])
        audit_record(actor=actor, action=CustomerAudit.UNMERGE, object_type="customer", object_id=target.pk,
                     detail={"merge_id": merge.pk, "source_id": source.pk, "target_id": target.pk})
        names = {"source": source.display_name, "target": target.display_name}
        for customer in (target, source):
            timeline_record(customer=customer, kind="merge_undone", actor=actor,
                            data={"merge_id": merge.pk, **names})
        _refresh_derived([source.pk, target.pk])
    return merge


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
