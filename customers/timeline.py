"""The kinds of timeline event. Apps add theirs with `register_kind` in their AppConfig.ready()."""

from django.utils.translation import gettext_lazy as _

KINDS: dict[str, str] = {}


def register_kind(kind: str, label) -> None:
    KINDS[kind] = label


def kind_label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


register_kind("customer_created", _("Customer created"))
register_kind("customer_edited", _("Profile edited"))
register_kind("order_imported", _("Order imported"))
register_kind("order_status_changed", _("Order status changed"))
register_kind("refund_imported", _("Refund imported"))
register_kind("note_added", _("Note added"))
register_kind("customer_merged", _("Customers merged"))
register_kind("merge_undone", _("Merge undone"))
register_kind("contact_revealed", _("Contact details revealed"))
register_kind("opted_out", _("Opted out of marketing"))
register_kind("consent_given", _("Consented to marketing"))
register_kind("lifecycle_changed", _("Lifecycle stage changed"))
register_kind("tier_changed", _("Membership tier changed"))
