"""Tagging: by hand on one customer or a whole filtered list, and by auto-tag rules (set-based SQL)."""

import logging

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.services import audit_record
from customers.models import AutoTagRule, Customer, CustomerTag, Tag

from ._sql import dt

logger = logging.getLogger(__name__)

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
    Customers tagged by hand keep their tag. Returns {tag id: (added, removed)}.

    A rule whose stored definition no longer validates (saved before a bound existed) or whose query fails is
    skipped and marked broken; the other rules, and the rest of the refresh, go on."""
    by_tag: dict[int, Q] = {}
    rules_of: dict[int, list[AutoTagRule]] = {}
    for rule in AutoTagRule.objects.filter(is_active=True):
        q = _rule_query(rule)
        if q is not None:
            by_tag[rule.tag_id] = by_tag[rule.tag_id] | q if rule.tag_id in by_tag else q
            rules_of.setdefault(rule.tag_id, []).append(rule)
    result = {}
    for tag_id, q in by_tag.items():
        try:
            with transaction.atomic():  # a savepoint: a failing statement must not abort the whole refresh
                result[tag_id] = _apply_tag(tag_id=tag_id, q=q, customer_ids=customer_ids)
        except DatabaseError as exc:
            logger.warning("auto-tag rules of tag %s failed: %s", tag_id, exc)
            for rule in rules_of[tag_id]:
                _mark_broken(rule, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    _clear_broken([rule.pk for rules in rules_of.values() for rule in rules if rule.tag_id in result])
    return result


def _rule_query(rule: AutoTagRule) -> Q | None:
    from .compiler import DefinitionError, compile_definition

    try:
        return compile_definition(rule.definition)
    except DefinitionError as exc:
        _mark_broken(rule, str(exc))
        return None


def _apply_tag(*, tag_id: int, q: Q, customer_ids: list[int] | None) -> tuple[int, int]:
    scope = Customer.objects.active()
    if customer_ids is not None:
        scope = scope.filter(id__in=customer_ids)
    members = scope.filter(q)
    added = _insert_select(customers=members, tag=Tag(pk=tag_id), source=Source.RULE)
    stale = CustomerTag.objects.filter(tag_id=tag_id, source=Source.RULE).exclude(customer__in=members.values("id"))
    if customer_ids is not None:
        stale = stale.filter(customer_id__in=customer_ids)
    removed, _by_model = stale.delete()
    return added, removed


def _mark_broken(rule: AutoTagRule, reason: str) -> None:
    # Keeps the first time it broke: the page says since when the rule has not been applied.
    AutoTagRule.objects.filter(pk=rule.pk, broken_at__isnull=True).update(broken_at=timezone.now())
    AutoTagRule.objects.filter(pk=rule.pk).update(broken_reason=reason[:1000])


def _clear_broken(rule_ids: list[int]) -> None:
    # A rule can mend without being edited, e.g. once a tier or tag its definition names exists again.
    AutoTagRule.objects.filter(pk__in=rule_ids, broken_at__isnull=False).update(broken_at=None, broken_reason="")
