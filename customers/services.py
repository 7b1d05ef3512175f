"""Writes about customers. Other apps record on the customer timeline through `timeline_record`."""

from django.db import IntegrityError, transaction

from .models import Customer, TimelineEvent


def timeline_record(
    *,
    customer: Customer | int,
    kind: str,
    summary: str,
    actor=None,
    data: dict | None = None,
    occurred_at=None,
    dedupe_key: str | None = None,
) -> TimelineEvent | None:
    """Add one event to a customer's timeline. With `dedupe_key`, recording the same effect twice (a retried
    task, a re-import) records it once and returns None the second time."""
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    fields = {
        "customer_id": customer_id,
        "kind": kind,
        "summary": summary[:300],
        "actor": actor if getattr(actor, "is_authenticated", False) else None,
        "data": data or {},
        "dedupe_key": dedupe_key,
    }
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    if dedupe_key is None:
        return TimelineEvent.objects.create(**fields)
    try:
        with transaction.atomic():
            return TimelineEvent.objects.create(**fields)
    except IntegrityError:
        return None
