"""The yearly tier review, by hand: move down every customer whose count no longer reaches their tier."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from customers.segmentation.tiers import tiers_yearly_review


class Command(BaseCommand):
    help = "Run the yearly membership tier review now (the only automatic way down a tier)."

    def handle(self, *args, **options):
        moved = tiers_yearly_review()
        self.stdout.write(_("customers moved down a tier: %(count)d") % {"count": moved})
