"""A segment condition registered from outside the segmentation package, the way coupons, campaigns, tickets
and reviews will add theirs: "a note was written about the customer within N days"."""

from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _


def _note_written(operator: str, days: int, ctx) -> Q:
    from .models import CustomerNote

    since = ctx.now - timedelta(days=days)
    recent = Exists(CustomerNote.objects.filter(customer=OuterRef("pk"), created_at__gte=since))
    return Q(recent) if operator == "within_days" else ~Q(recent)


def register_note_conditions() -> None:
    from .segmentation.conditions import register_condition

    register_condition("note_written", label=_("Note written"), kind="event", group=_("Service"), build=_note_written)
