"""Named reads over customers and orders: Customer.objects.active().dormant(days=180).in_region("浙江")."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone


class CustomerQuerySet(models.QuerySet):
    def active(self):
        """Customers not merged into another one: the ones every list and segment shows."""
        return self.filter(merged_into__isnull=True)

    def in_region(self, province: str, city: str | None = None):
        qs = self.filter(province=province)
        return qs.filter(city=city) if city else qs

    def dormant(self, *, days: int):
        return self.filter(last_paid_at__lt=timezone.now() - timedelta(days=days))

    def marketable(self, channel: str | None = None, *, now=None):
        """Who may receive marketing: not merged away, consented, not opted out, and reachable on `channel`
        ("sms": a phone Taobao did not mask and, if virtual, not yet expired; "email": an address; None: either).
        The one rule the segment snapshot and the sending path both apply."""
        allowed = self.active().filter(marketing_consent=True, opted_out=False)
        reachable = {"sms": self._sendable_phone(now), "email": ~Q(email="")}
        if channel is None:
            return allowed.filter(reachable["sms"] | reachable["email"])
        if channel not in reachable:
            raise ValueError(f"Unknown marketing channel {channel!r}")
        return allowed.filter(reachable[channel])

    @staticmethod
    def _sendable_phone(now) -> Q:
        now = now or timezone.now()
        return (
            ~Q(phone="")
            & Q(phone_is_masked=False)
            & (Q(phone_is_virtual=False) | Q(phone_virtual_expires_at__gt=now))
        )


class OrderQuerySet(models.QuerySet):
    def paid(self):
        return self.filter(paid_at__isnull=False)
