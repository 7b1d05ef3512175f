"""The kinds of timeline event, and how each is told in the reader's language.

An event stores its kind and the parameters of what happened (`data`), never a translated sentence: the page
renders the summary when it is shown, in the language of whoever reads it. `summary` on the row holds only free
text a person wrote (a note's start, a reveal's reason). Apps add their kinds with `register_kind` in their
AppConfig.ready():

    register_kind("coupon_issued", _("Coupon issued"), _("%(template)s, code %(code)s"))
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Kind:
    label: str
    # A format string over the event's data (%(name)s), or a function of the data; None: the stored free text.
    summary: str | Callable[[dict], str] | None = None


KINDS: dict[str, Kind] = {}


def register_kind(kind: str, label, summary=None) -> None:
    KINDS[kind] = Kind(label, summary)


def kind_label(kind: str) -> str:
    spec = KINDS.get(kind)
    return str(spec.label) if spec else kind


def event_summary(event) -> str:
    """The event's summary in the active language: its kind's rendering of the stored data, or the free text
    stored with it. An older event whose data lacks a parameter shows its stored text."""
    spec = KINDS.get(event.kind)
    if spec is None or spec.summary is None:
        return event.summary
    try:
        text = spec.summary(event.data) if callable(spec.summary) else str(spec.summary) % event.data
    except (KeyError, TypeError, ValueError):
        return event.summary
    return f"{text} · {event.summary}" if event.summary else text


def _source(data: dict) -> str:
    from .models import Customer

    source = data["source"]
    return str(Customer.Source(source).label) if source in Customer.Source.values else source


def _fields(data: dict) -> str:
    from .models import Customer

    names = [str(Customer._meta.get_field(name).verbose_name) for name in data["fields"]]
    return _("Edited: %(fields)s") % {"fields": ", ".join(names)}


def _stage_change(data: dict) -> str:
    from .segmentation.lifecycle import stage_label

    return _("Lifecycle stage: %(from)s → %(to)s") % {"from": stage_label(data["from"]), "to": stage_label(data["to"])}


def _tier_change(data: dict) -> str:
    reasons = {
        "upgrade": lambda: _("upgrade: reached %(threshold)s") % {"threshold": data.get("threshold")},
        "yearly_review": lambda: _("yearly review"),
    }
    reason = reasons[data["reason"]]() if data.get("reason") in reasons else data.get("reason", "")
    return _("Tier: %(from)s → %(to)s (%(reason)s)") % {
        "from": data.get("from") or _("no tier"), "to": data.get("to") or _("no tier"), "reason": reason,
    }


register_kind("customer_created", gettext_lazy("Customer created"), _source)
register_kind("customer_edited", gettext_lazy("Profile edited"), _fields)
register_kind("order_imported", gettext_lazy("Order imported"),
              gettext_lazy("Order import: %(created)d new, %(updated)d updated orders"))
register_kind("order_status_changed", gettext_lazy("Order status changed"),
              gettext_lazy("Order status changed: %(count)d orders"))
register_kind("refund_imported", gettext_lazy("Refund imported"))
register_kind("note_added", gettext_lazy("Note added"))
register_kind("customer_merged", gettext_lazy("Customers merged"),
              gettext_lazy("%(source)s merged into %(target)s"))
register_kind("merge_undone", gettext_lazy("Merge undone"),
              gettext_lazy("Merge of %(source)s into %(target)s undone"))
register_kind("contact_revealed", gettext_lazy("Contact details revealed"))
register_kind("opted_out", gettext_lazy("Opted out of marketing"))
register_kind("consent_given", gettext_lazy("Consented to marketing"))
register_kind("lifecycle_changed", gettext_lazy("Lifecycle stage changed"), _stage_change)
register_kind("tier_changed", gettext_lazy("Membership tier changed"), _tier_change)
