"""The audit actions of the customer base. Registered with the kernel in CustomersConfig.ready()."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerAudit(models.TextChoices):
    EXPORT = "export", _("Export")
    CREATE = "create", _("Customer created")
    REVEAL = "reveal", _("Reveal contact")
    MERGE = "merge", _("Merge customers")
    UNMERGE = "unmerge", _("Undo merge")
    TAG_ADD = "tag_add", _("Tag added in bulk")
    TAG_REMOVE = "tag_remove", _("Tag removed in bulk")
    TIER_REVIEW = "tier_review", _("Yearly tier review")
    PHONE_SEARCH = "phone_search", _("Search by whole phone number")
