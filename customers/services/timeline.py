"""The customer timeline: the kinds of event, how each is told in the reader's language, and the writers.

An event stores its kind and the parameters of what happened (`data`), never a translated sentence: the page
renders the summary when it is shown, in the language of whoever reads it. `summary` on the row holds only free
text a person wrote (a note's start, a reveal's reason). Apps add their kinds with `register_kind` in their
AppConfig.ready():

    register_kind("coupon_issued", _("Coupon issued"), _("%(template)s, code %(code)s"))
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, TimelineEvent


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
    source = data["source"]
    return str(Customer.Source(source).label) if source in Customer.Source.values else source


def _fields(data: dict) -> str:
    names = [str(Customer._meta.get_field(name).verbose_name) for name in data["fields"]]
    return _("Edited: %(fields)s") % {"fields": ", ".join(names)}


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
# "lifecycle_changed" is registered by customers/segmentation/lifecycle.py, which names the stages.
register_kind("tier_changed", gettext_lazy("Membership tier changed"), _tier_change)


def timeline_record(
    *,
    customer: Customer | int,
    kind: str,
    summary: str = "",
    actor=None,
    data: dict | None = None,
    occurred_at=None,
    dedupe_key: str | None = None,
) -> TimelineEvent | None:
    """Add one event to a customer's timeline. `data` holds the parameters its kind's summary is rendered from,
    in the reader's language (the kinds above); `summary` only free text a person wrote (a note's start,
    a reveal's reason), never a translated sentence. With `dedupe_key`, recording the same effect twice (a retried
    task, a re-import) records it once and returns None the second time."""
    customer_id = customer.pk if isinstance(customer, Customer) else customer
    fields = {
        "customer_id": customer_id,
        "kind": kind,
        "summary": summary[:300],
        "actor": actor if getattr(actor, "is_authenticated", False) else None,
        "data": data or {},
        "dedupe_key": dedupe_key,
    }
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    if dedupe_key is None:
        return TimelineEvent.objects.create(**fields)
    try:
        with transaction.atomic():
            return TimelineEvent.objects.create(**fields)
    except IntegrityError:
        return None


@dataclass(frozen=True)
class TimelineRow:
    """One event for timeline_record_many. `data` holds the parameters its kind's summary is rendered from in
    the reader's language (the kinds above); `summary` only free text a person wrote, if any."""

    customer_id: int
    kind: str
    data: dict
    summary: str = ""
    dedupe_key: str | None = None


def timeline_record_many(
    rows: list[TimelineRow], *, occurred_at, actor=None, update_changed: bool = False
) -> None:
    """Add many events at once, set-based (one staged load, one INSERT): an import, the nightly lifecycle and
    tier moves write thousands. An event whose dedupe_key the customer's timeline holds already is not added
    again; with `update_changed` its data is replaced when it differs (an import run again updates its counts)."""
    if not rows:
        return
    from customers.importing import sql

    encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(…) makes an encoder per call
    columns = [("customer_id", "bigint"), ("kind", "text"), ("summary", "text"), ("data", "jsonb"),
               ("dedupe_key", "text")]
    sql.stage("stg_timeline", columns, [
        (row.customer_id, row.kind, row.summary[:300], encode(row.data), row.dedupe_key) for row in rows
    ])
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    sql.upsert(
        TimelineEvent,
        source="stg_timeline s",
        conflict=["customer", "dedupe_key"],
        update=["summary", "data"] if update_changed else None,
        values={
            "customer": "s.customer_id",
            "kind": "s.kind",
            "summary": "s.summary",
            "data": sql.json_expr("s.data"),
            "dedupe_key": "s.dedupe_key",
            "occurred_at": sql.timestamp_literal(occurred_at),
            "actor": str(int(actor_id)) if actor_id else "NULL",
        },
        where="t.data IS DISTINCT FROM excluded.data" if update_changed else None,
        order_by="s.customer_id",
    )
