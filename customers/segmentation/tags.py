"""Tagging: by hand on one customer or a whole filtered list, and by auto-tag rules (set-based SQL)."""

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.services import audit_record
from customers.models import AutoTagRule, Customer, CustomerTag, Tag

from ._sql import dt

Source = CustomerTag.Source


def _insert_select(*, customers: QuerySet, tag: Tag, source: str) -> int:
    """INSERT … SELECT of (customer, tag) for every customer of the queryset not yet tagged: one statement."""
    sql, params = customers.order_by().values("id").query.sql_with_params()
    table = CustomerTag._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (customer_id, tag_id, source, created_at)
            SELECT q.id, %s, %s, %s FROM ({sql}) q
            WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.customer_id = q.id AND t.tag_id = %s)
            """,
            [tag.pk, source, dt(timezone.now()), *params, tag.pk],
        )
        return cursor.rowcount


@transaction.atomic
def tag_add(*, customers: QuerySet | Customer, tag: Tag, actor=None) -> int:
    """Tag one customer or every customer of a (filtered) queryset by hand. Returns how many were newly tagged."""
    if isinstance(customers, Customer):
        customers = Customer.objects.filter(pk=customers.pk)
    added = _insert_select(customers=customers.active(), tag=tag, source=Source.MANUAL)
    # A hand-made tag is no longer the rule's to take away.
    CustomerTag.objects.filter(tag=tag, customer__in=customers.values("id"), source=Source.RULE).update(
        source=Source.MANUAL
    )
    if actor is not None:
        audit_record(actor=actor, action="tag_add", object_type="tag", object_id=tag.pk, detail={"added": added})
    return added


@transaction.atomic
def tag_remove(*, customers: QuerySet | Customer, tag: Tag, actor=None) -> int:
    if isinstance(customers, Customer):
        customers = Customer.objects.filter(pk=customers.pk)
    removed, _by_model = CustomerTag.objects.filter(tag=tag, customer__in=customers.values("id")).delete()
    if actor is not None:
        audit_record(actor=actor, action="tag_remove", object_type="tag", object_id=tag.pk,
                     detail={"removed": removed})
    return removed


@transaction.atomic
def autotag_apply(*, customer_ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
    """Evaluate the active auto-tag rules: tag who matches, untag who the rules tagged and no longer matches.
    Customers tagged by hand keep their tag. Returns {tag id: (added, removed)}."""
    from .compiler import compile_definition

    by_tag: dict[int, Q] = {}
    for rule in AutoTagRule.objects.filter(is_active=True).select_related("tag"):
        q = compile_definition(rule.definition)
        by_tag[rule.tag_id] = by_tag[rule.tag_id] | q if rule.tag_id in by_tag else q
    result = {}
    for tag_id, q in by_tag.items():
        scope = Customer.objects.active()
        if customer_ids is not None:
            scope = scope.filter(id__in=customer_ids)
        members = scope.filter(q)
        added = _insert_select(customers=members, tag=Tag(pk=tag_id), source=Source.RULE)
        stale = CustomerTag.objects.filter(tag_id=tag_id, source=Source.RULE).exclude(customer__in=members.values("id"))
        if customer_ids is not None:
            stale = stale.filter(customer_id__in=customer_ids)
        removed, _by_model = stale.delete()
        result[tag_id] = (added, removed)
    return result
