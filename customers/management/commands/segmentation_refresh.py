"""Recompute segmentation now: RFM, lifecycle stages, tier upgrades, auto-tags, points, products bought (and
with --nightly, points expiry and repurchase intervals too), exactly as the nightly task does."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy as _

from customers.segmentation.services import segmentation_nightly, segmentation_refresh

# What each step of the refresh reports, as people read it (the keys stay the task's, for the logs).
STEP_LABELS = {
    "rfm_and_lifecycle": _("RFM scores and lifecycle stages updated"),
    "rfm": _("RFM scores updated"),
    "lifecycle": _("lifecycle stages updated"),
    "tiers": _("tier upgrades"),
    "autotags": _("auto-tags added or removed"),
    "points": _("points entries written"),
    "products_bought": _("products-bought rows updated"),
    "vacuumed": _("score table vacuumed"),
    "points_expired": _("points entries expired"),
    "repurchase_intervals": _("repurchase intervals updated"),
}


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
            shown = (_("yes") if value else _("no")) if isinstance(value, bool) else value
            self.stdout.write(f"{STEP_LABELS.get(name, name)}: {shown}")
