"""Reads over segments shared by the HTML views, the API and (later) campaigns."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Customer, Segment

from .compiler import compile_definition
from .conditions import Context


def _definition_of(segment_or_definition: Segment | dict) -> dict:
    if isinstance(segment_or_definition, Segment):
        return segment_or_definition.definition
    return segment_or_definition


def segment_members(segment_or_definition: Segment | dict, *, now: datetime | None = None) -> QuerySet[Customer]:
    """The customers a segment (or a bare definition) selects right now: one SQL query, nothing evaluated yet.
    Raises compiler.DefinitionError for an invalid definition."""
    q = compile_definition(_definition_of(segment_or_definition), context=Context(now=now or timezone.now()))
    return Customer.objects.active().filter(q)


def segment_count(segment_or_definition: Segment | dict, *, now: datetime | None = None) -> int:
    return segment_members(segment_or_definition, now=now).count()


@dataclass(frozen=True)
class SegmentSnapshot:
    """The members of a segment at one moment, e.g. when a campaign launches (segments themselves are dynamic)."""

    customer_ids: tuple[int, ...]
    taken_at: datetime
    definition: dict

    def __len__(self) -> int:
        return len(self.customer_ids)


def segment_snapshot(
    segment_or_definition: Segment | dict, *, marketable_only: bool = False, now: datetime | None = None
) -> SegmentSnapshot:
    """Freeze who is in the segment now. `marketable_only` keeps only those who may receive marketing
    (Customer.objects.marketable(): consent, no opt-out, a sendable phone or an email)."""
    now = now or timezone.now()
    members = segment_members(segment_or_definition, now=now)
    if marketable_only:
        members = members & Customer.objects.marketable(now=now)
    ids = tuple(members.order_by("id").values_list("id", flat=True).iterator(chunk_size=10000))
    return SegmentSnapshot(customer_ids=ids, taken_at=now, definition=_definition_of(segment_or_definition))
