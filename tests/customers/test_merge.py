"""Merging a duplicate customer into another, and undoing it exactly."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import AuditEvent
from customers.models import (
    CustomerAddress,
    CustomerMerge,
    CustomerNote,
    CustomerTag,
    Order,
    PointsEntry,
    Refund,
    TimelineEvent,
)
from customers.segmentation.services import segmentation_refresh
from customers.services.merge import customer_merge, customer_unmerge
from customers.services.timeline import timeline_record
from tests.customers.factories import (
    CustomerAddressFactory,
    CustomerFactory,
    CustomerNoteFactory,
    OrderFactory,
    RefundFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def snapshot(customer, *, upto: dict | None = None) -> dict:
    """Which rows belong to `customer`, by kind. With `upto`, timeline events and ledger entries written after
    that moment (the refresh a merge runs records stage changes and earns points) are left out."""
    upto = upto or {}
    timeline = TimelineEvent.objects.filter(customer=customer, id__lte=upto.get("timeline", 10**12))
    points = PointsEntry.objects.filter(customer=customer, id__lte=upto.get("points", 10**12))
    return {
        "orders": set(Order.objects.filter(customer=customer).values_list("id", flat=True)),
        "refunds": set(Refund.objects.filter(customer=customer).values_list("id", flat=True)),
        "addresses": set(CustomerAddress.objects.filter(customer=customer).values_list("id", flat=True)),
        "notes": set(CustomerNote.objects.filter(customer=customer).values_list("id", flat=True)),
        "tags": set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True)),
        "points": set(points.values_list("id", flat=True)),
        "timeline": set(timeline.values_list("id", flat=True)),
    }


def now_ids() -> dict:
    last = {"timeline": TimelineEvent.objects.order_by("-id").first(),
            "points": PointsEntry.objects.order_by("-id").first()}
    return {kind: row.id if row else 0 for kind, row in last.items()}


@pytest.fixture
def pair():
    """A duplicate (source) and the customer it belongs to (target), each with history, overlapping in part."""
    source, target = CustomerFactory(buyer_nick="dup"), CustomerFactory(buyer_nick="main")
    shared_tag, own_tag = TagFactory(name="回购"), TagFactory(name="大促")
    for customer in (source, target):
        order = OrderFactory(customer=customer)
        RefundFactory(order=order)
        CustomerNoteFactory(customer=customer)
        CustomerAddressFactory(customer=customer)
        CustomerTag.objects.create(customer=customer, tag=shared_tag)
        timeline_record(customer=customer, kind="order_imported", summary=order.order_no,
                        dedupe_key=f"order:{order.order_no}")
    OrderFactory(customer=source)
    CustomerAddressFactory(customer=source, fingerprint="same-address")
    CustomerAddressFactory(customer=target, fingerprint="same-address")
    CustomerTag.objects.create(customer=source, tag=own_tag)
    PointsEntry.objects.create(customer=source, delta=30, kind=PointsEntry.Kind.ADJUST, reason="开业赠送")
    segmentation_refresh(customer_ids=[source.pk, target.pk])  # as after an import: points earned, stages set
    return source, target


def test_a_merge_moves_orders_refunds_addresses_notes_timeline_and_tags(pair, manager):
    source, target = pair
    before_source, before_target, upto = snapshot(source), snapshot(target), now_ids()

    customer_merge(source=source, target=target, actor=manager)

    after = snapshot(target, upto=upto)
    source.refresh_from_db()
    assert source.merged_into == target
    for kind in ("orders", "refunds", "notes", "timeline", "points"):
        assert after[kind] == before_source[kind] | before_target[kind]
    # The duplicate address and the shared tag stay with the source: the target already has them.
    assert len(after["addresses"]) == len(before_target["addresses"]) + 1
    assert after["tags"] == before_source["tags"] | before_target["tags"]


def test_a_merge_is_logged_in_the_audit_trail_and_on_both_timelines(pair, manager):
    source, target = pair

    merge = customer_merge(source=source, target=target, actor=manager)

    audit = AuditEvent.objects.get(action="merge")
    assert audit.actor == manager and audit.detail["merge_id"] == merge.pk
    assert audit.detail["moved"]["orders"] == 2
    assert TimelineEvent.objects.filter(kind="customer_merged", customer__in=[source, target]).count() == 2


def test_undo_restores_exactly_what_moved(pair, manager):
    source, target = pair
    before_source, before_target, upto = snapshot(source), snapshot(target), now_ids()
    merge = customer_merge(source=source, target=target, actor=manager)

    customer_unmerge(merge=merge, actor=manager)

    source.refresh_from_db()
    merge.refresh_from_db()
    assert snapshot(source, upto=upto) == before_source
    assert snapshot(target, upto=upto) == before_target
    assert source.merged_into is None and merge.undone_at is not None
    assert AuditEvent.objects.filter(action="unmerge").count() == 1
    assert TimelineEvent.objects.filter(kind="merge_undone").count() == 2


def test_a_merge_and_its_undo_recompute_the_order_figures_of_both(pair, manager):
    source, target = pair

    merge = customer_merge(source=source, target=target, actor=manager)
    target.refresh_from_db()
    merged_count = target.order_count
    customer_unmerge(merge=merge, actor=manager)
    source.refresh_from_db()
    target.refresh_from_db()

    assert merged_count == 3
    assert (source.order_count, target.order_count) == (2, 1)
    assert source.points_balance - target.points_balance >= 30  # the hand-given 30 points went back too


def test_a_merge_cannot_be_undone_twice(pair, manager):
    merge = customer_merge(source=pair[0], target=pair[1], actor=manager)
    customer_unmerge(merge=merge, actor=manager)

    with pytest.raises(ValidationError):
        customer_unmerge(merge=merge, actor=manager)


def test_a_customer_cannot_be_merged_into_itself_or_twice(pair, manager):
    source, target = pair
    customer_merge(source=source, target=target, actor=manager)

    with pytest.raises(ValidationError):
        customer_merge(source=target, target=target, actor=manager)
    with pytest.raises(ValidationError):
        customer_merge(source=source, target=target, actor=manager)


def test_the_merge_page_previews_what_moves_then_merges_on_confirm(pair, client_for, manager):
    source, target = pair
    client = client_for(manager)
    url = reverse("customers:merge", args=[target.pk])

    preview = client.get(url, {"other": "dup"})
    response = client.post(url, {"source": source.pk})

    assert preview.context["source"] == source
    assert preview.context["preview"]["orders"] == 2
    assert response.status_code == 302
    assert CustomerMerge.objects.get().source == source


def test_the_undo_button_undoes_the_merge(pair, client_for, manager):
    merge = customer_merge(source=pair[0], target=pair[1], actor=manager)

    response = client_for(manager).post(reverse("customers:merge-undo", args=[merge.pk]))

    merge.refresh_from_db()
    assert response.status_code == 302
    assert merge.undone_at is not None


@pytest.mark.parametrize("role", ["agent", "outsider"])
def test_agents_and_users_without_a_role_cannot_merge(role, pair, client_for, request):
    user = request.getfixturevalue(role)

    response = client_for(user).post(reverse("customers:merge", args=[pair[1].pk]), {"source": pair[0].pk})

    assert response.status_code == 403
    assert not CustomerMerge.objects.exists()


def test_shop_staff_may_merge_customers(pair, client_for, staff):
    response = client_for(staff).post(reverse("customers:merge", args=[pair[1].pk]), {"source": pair[0].pk})

    assert response.status_code == 302
    assert CustomerMerge.objects.get().merged_by == staff


def test_points_earned_on_moved_orders_while_merged_go_back_with_the_orders(manager):
    source, target = CustomerFactory(), CustomerFactory()
    order = OrderFactory(customer=source, paid_amount="88.00")  # no points earned yet
    merge = customer_merge(source=source, target=target, actor=manager)
    earned_while_merged = set(PointsEntry.objects.filter(order=order).values_list("customer_id", flat=True))

    customer_unmerge(merge=merge, actor=manager)

    assert earned_while_merged == {target.pk}
    assert set(PointsEntry.objects.filter(order=order).values_list("customer_id", flat=True)) == {source.pk}


def test_a_registered_merge_move_moves_and_undoes_another_apps_rows(monkeypatch):
    """An app adds its table to the merge through customers.merging.register_merge_move; merge and undo use it.
    (Here the notes table stands in for another app's, registered a second time under another name.)"""
    from customers import merging

    moves = dict(merging.MERGE_MOVES)
    del moves["notes"]
    moves["service_notes"] = merging.MergeMove("service_notes", "customers.CustomerNote")
    monkeypatch.setattr(merging, "MERGE_MOVES", moves)
    source, target = CustomerFactory(), CustomerFactory()
    note = CustomerNote.objects.create(customer=source, body="来电问物流")

    merge = customer_merge(source=source, target=target)
    note.refresh_from_db()
    assert note.customer_id == target.pk and merge.moved["service_notes"] == [note.pk]

    customer_unmerge(merge=merge)
    note.refresh_from_db()
    assert note.customer_id == source.pk
