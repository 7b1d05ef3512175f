"""Recompute segmentation now: RFM, lifecycle stages, tier upgrades, auto-tags, points, products bought (and
with --nightly, points expiry and repurchase intervals too), exactly as the nightly task does."""

from django.core.management.base import BaseCommand

from customers.segmentation.services import segmentation_nightly, segmentation_refresh


class Command(BaseCommand):
    help = "Recompute RFM, lifecycle stages, tiers, auto-tags and points for all customers."

    def add_arguments(self, parser):
        parser.add_argument("--nightly", action="store_true", help="also expire points and recompute repurchase "
                                                                   "intervals, as the nightly task does")
        parser.add_argument("--customer", type=int, action="append", dest="customer_ids",
                            help="only this customer (repeatable); RFM is always scored over everyone")

    def handle(self, *args, nightly: bool, customer_ids, **options):
        result = segmentation_nightly() if nightly else segmentation_refresh(customer_ids=customer_ids)
        for name, value in result.items():
            self.stdout.write(f"{name}: {value}")
