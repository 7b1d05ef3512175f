"""Named reads over customers and orders: Customer.objects.active().dormant(days=180).in_region("浙江")."""

from datetime import timedelta

from django.db import models
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

    def marketable(self):
        """Who may receive marketing: consented and not opted out."""
        return self.active().filter(opted_out=False)


class OrderQuerySet(models.QuerySet):
    def paid(self):
        return self.filter(paid_at__isnull=False)
