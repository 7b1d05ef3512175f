"""Writes about customers. Other apps record on the customer timeline through `timeline_record`."""

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from crm.models import AuditEvent, Job
from crm.pii import mask_phone
from crm.services import audit_record

from .audit import CustomerAudit
from .merging import merge_moves
from .models import (
    Customer,
    CustomerMerge,
    CustomerNote,
    CustomerScore,
    PointsEntry,
    TimelineEvent,
)


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
    in the reader's language (customers/timeline.py); `summary` only free text a person wrote (a note's start,
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
    the reader's language (customers/timeline.py); `summary` only free text a person wrote, if any."""

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
    from .importing import sql

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


# --- Profile: create, edit, notes, consent --------------------------------------------------------

# Contact details: masked for everyone in lists and pages, shown raw only on a logged reveal.
CONTACT_FIELDS = ("real_name", "phone", "email", "address")
# What a person may edit by hand. Derived figures, segmentation and identity come from imports and rules.
EDITABLE_FIELDS = (
    "display_nick", "real_name", "gender", "birthday", "lunar_birthday_month", "lunar_birthday_day",
    "phone", "email", "wangwang", "province", "city", "district", "address", "postcode",
)
PHONE_CHARS = re.compile(r"^\+?[0-9][0-9 -]{4,18}[0-9]$")


def _validate_profile(values: dict[str, Any]) -> None:
    """Rules a model field cannot say alone. Raises ValidationError keyed by field, as forms and the API show."""
    errors: dict[str, list] = {}
    phone = values.get("phone") or ""
    if phone and not PHONE_CHARS.match(phone):
        errors["phone"] = [_("Enter a phone number of digits (a leading + and spaces or dashes are fine).")]
    birthday = values.get("birthday")
    if birthday and birthday > timezone.localdate():
        errors["birthday"] = [_("A birthday cannot be in the future.")]
    month, day = values.get("lunar_birthday_month"), values.get("lunar_birthday_day")
    if month is not None and not 1 <= month <= 12:
        errors["lunar_birthday_month"] = [_("A lunar month is between 1 and 12.")]
    if day is not None and not 1 <= day <= 30:
        errors["lunar_birthday_day"] = [_("A lunar day is between 1 and 30.")]
    if (month is None) != (day is None):
        errors.setdefault("lunar_birthday_day", []).append(_("Give both the lunar month and day, or neither."))
    if errors:
        raise ValidationError(errors)


def _phone_tail(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[-4:] if len(digits) >= 4 else ""


class EditConflict(ValidationError):
    """Someone else changed the same fields since the editor opened the form. `base` is the current state to
    carry in the form, so that saving again deliberately replaces their values."""

    def __init__(self, errors: dict[str, list], *, base: dict[str, str]):
        self.base = base
        super().__init__(errors)


def edit_fingerprint(name: str, value) -> str:
    """A field's value as the edit form carries it, to tell later what the editor changed and what changed
    under them. Contact values are keyed hashes: the form never holds them (see forms.CustomerForm), and a
    plain hash of an 11-digit phone could be reversed by trying every number."""
    text = "" if value is None else str(value)
    if name in CONTACT_FIELDS:
        return salted_hmac("customers.edit_fingerprint", f"{name}:{text}", algorithm="sha256").hexdigest()
    return text


def customer_edit_base(customer: Customer) -> dict[str, str]:
    """The editable fields as the edit form opens them; handed back to `customer_update(base=...)`."""
    return {name: edit_fingerprint(name, getattr(customer, name)) for name in EDITABLE_FIELDS}


def _edits_since(*, customer: Customer, base: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    """The part of `data` the editor changed from `base`. Two tabs on one customer: the second save must not
    put back the values the first one replaced, so a field the editor left alone is not written. A field both
    changed, differently, is a conflict the editor is told about, not a silent overwrite."""
    edits = {name: value for name, value in data.items()
             if name not in base or edit_fingerprint(name, value) != base[name]}
    clashes = {
        name: value for name, value in edits.items()
        if name in base and edit_fingerprint(name, getattr(customer, name)) != base[name]
        and getattr(customer, name) != value
    }
    if clashes:
        raise EditConflict({name: [_conflict_message(customer, name)] for name in clashes},
                           base=customer_edit_base(customer))
    return edits


def _conflict_message(customer: Customer, name: str) -> str:
    if name in CONTACT_FIELDS:
        return _("Someone else changed this while you were editing. Save again to replace it with yours.")
    current = getattr(customer, name)
    return _("Someone else changed this to “%(value)s” while you were editing. Save again to replace it with "
             "yours.") % {"value": "" if current is None else current}


def customer_update(*, customer: Customer, data: dict[str, Any], actor=None,
                    base: dict[str, str] | None = None) -> Customer:
    """Change profile fields by hand. Records `customer_edited` with the names of the fields that changed
    (never their values: the timeline is shown masked to everyone). With `base` (the fields as the editor's form
    opened them, `customer_edit_base`), only what the editor changed is written, and a field someone else
    changed meanwhile raises EditConflict."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be edited.")] for name in sorted(unknown)})
    with transaction.atomic():
        if base is not None:
            # Compared with the row as it is now, locked so a save in the other tab cannot slip in between.
            current = Customer.objects.select_for_update().only(*EDITABLE_FIELDS).get(pk=customer.pk)
            for name in EDITABLE_FIELDS:
                setattr(customer, name, getattr(current, name))
            data = _edits_since(customer=customer, base=base, data=data)
        return _customer_write(customer=customer, data=data, actor=actor)


def _customer_write(*, customer: Customer, data: dict[str, Any], actor) -> Customer:
    changed = [name for name, value in data.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    _validate_profile({name: getattr(customer, name) for name in EDITABLE_FIELDS} | data)
    for name in changed:
        setattr(customer, name, data[name])
    if "phone" in changed:
        customer.phone_tail = _phone_tail(customer.phone)
        customer.phone_is_masked = "*" in customer.phone
    customer.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        customer.save(update_fields=[*changed, *(["phone_tail", "phone_is_masked"] if "phone" in changed else []),
                                     "updated_at"])
        timeline_record(
            customer=customer, kind="customer_edited", actor=actor, data={"fields": changed},
        )
    return customer


class PossibleDuplicates(ValidationError):
    """The new customer looks like one (or more) the shop already has. `customers` are those, best first."""

    def __init__(self, customers: list[Customer]):
        self.customers = customers
        super().__init__({"confirm_duplicate": [
            _("This looks like a customer the shop already has (same phone, member name or nickname). Open the "
              "existing one, or confirm that this is a different person.")
        ]})


# At least one of these, or a member name: a customer nobody can recognise is of no use to anyone.
IDENTIFYING_FIELDS = ("display_nick", "real_name", "phone", "wangwang", "email")


def customer_create(
    *,
    data: dict[str, Any],
    actor=None,
    buyer_nick: str = "",
    source: str = Customer.Source.MANUAL,
    confirm_duplicate: bool = False,
) -> Customer:
    """A customer entered by hand (a buyer met on WeChat, by phone, at a fair), with the profile fields a person
    may edit. Records `customer_created` on the timeline and an audit event.

    Identity. With a Taobao member name the identity key is the one imports use (`nick:<name>`), so a later order
    export of that buyer lands on this customer instead of making a second one; a member name the shop already
    has is refused (open that customer instead). Without one the key is `manual:<uuid>`, which no import ever
    produces, so it cannot collide.

    Twins. A shop's staff usually enter a customer because they do not find them, yet the same person is often
    there already under an imported record (the phone or nickname match). So a likely twin is not created
    silently, nor is it refused (two people do share a nickname, a family shares a phone): the caller gets
    PossibleDuplicates listing them, and creates anyway with `confirm_duplicate=True`. The audit event keeps the
    ids of the twins that were confirmed past, so a merge later can find them."""
    buyer_nick = buyer_nick.strip()
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be edited.")] for name in sorted(unknown)})
    if not buyer_nick and not any(data.get(name) for name in IDENTIFYING_FIELDS):
        raise ValidationError({"__all__": [
            _("Give at least a member name, nickname, name, phone, Wangwang id or email.")
        ]})
    identity_key = f"nick:{buyer_nick}" if buyer_nick else f"manual:{uuid.uuid4().hex}"
    if Customer.objects.filter(identity_key=identity_key).exists():
        raise ValidationError({"buyer_nick": [_("A customer with this member name already exists.")]})
    _validate_profile(data)
    customer = Customer(identity_key=identity_key, buyer_nick=buyer_nick, source=source, **data)
    customer.phone_tail = _phone_tail(customer.phone)
    customer.phone_is_masked = "*" in customer.phone
    customer.full_clean(validate_unique=False, validate_constraints=False)
    from .selectors import customer_possible_duplicates

    twins = customer_possible_duplicates(buyer_nick=buyer_nick, display_nick=customer.display_nick,
                                         phone=customer.phone)
    if twins and not confirm_duplicate:
        raise PossibleDuplicates(twins)
    try:
        with transaction.atomic():
            customer.save()
            timeline_record(customer=customer, kind="customer_created", actor=actor, data={"source": source})
            audit_record(actor=actor, action=CustomerAudit.CREATE, object_type="customer",
                         object_id=customer.pk,
                         detail={"source": source, "possible_duplicates": [twin.pk for twin in twins]})
    except IntegrityError as exc:  # the same member name entered at the same moment by someone else
        raise ValidationError({"buyer_nick": [_("A customer with this member name already exists.")]}) from exc
    return customer


def customer_note_add(*, customer: Customer, author, body: str) -> CustomerNote:
    body = body.strip()
    if not body:
        raise ValidationError({"body": [_("A note cannot be empty.")]})
    with transaction.atomic():
        note = CustomerNote.objects.create(customer=customer, author=author, body=body)
        timeline_record(
            customer=customer, kind="note_added", actor=author, summary=body[:120], data={"note_id": note.pk}
        )
    return note


def customer_contact_reveal(*, customer: Customer, actor, reason: str) -> dict[str, str]:
    """Show one customer's raw contact details to a manager, once, for a stated reason. Logged in the audit
    trail and on the customer's timeline; returns the raw values for this one response."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why you need the contact details.")]})
    if not (actor.has_perm("customers.reveal_pii") and actor.has_perm("customers.view_pii")):
        raise PermissionDenied(_("Your role cannot reveal contact details."))
    with transaction.atomic():
        audit_record(actor=actor, action=CustomerAudit.REVEAL, object_type="customer",
                     object_id=customer.pk, reason=reason)
        timeline_record(customer=customer, kind="contact_revealed", actor=actor, summary=reason[:300])
    return customer_contact_raw(customer=customer)


def customer_contact_raw(*, customer: Customer) -> dict[str, str]:
    """The raw contact values, for the one page that follows a logged reveal."""
    return {name: getattr(customer, name) for name in CONTACT_FIELDS}


PHONE_SEARCH_AUDITED_IDS = 20  # a whole number matches one customer, rarely a few; the audit names them


def customer_phone_search_record(*, actor, phone: str, queryset) -> AuditEvent:
    """A search by a whole phone number finds a customer by contact data the searcher was not shown: audit who
    searched which number (masked in the log) and which customers it found."""
    found = list(queryset.values_list("pk", flat=True)[:PHONE_SEARCH_AUDITED_IDS])
    return audit_record(actor=actor, action=CustomerAudit.PHONE_SEARCH, object_type="customer",
                        object_id=found[0] if len(found) == 1 else "",
                        detail={"phone": mask_phone(phone), "customers": found})


def customer_opt_out(*, customer: Customer, actor=None, source: str = "") -> Customer:
    """The customer asked for no more marketing. Idempotent: opting out twice records it once."""
    if customer.opted_out:
        return customer
    customer.opted_out, customer.opted_out_at = True, timezone.now()
    with transaction.atomic():
        customer.save(update_fields=["opted_out", "opted_out_at", "updated_at"])
        timeline_record(customer=customer, kind="opted_out", actor=actor, summary=source)
    return customer


def customer_consent_give(*, customer: Customer, source: str, actor=None) -> Customer:
    """Record consent to marketing, where it came from and when. Consent also lifts an earlier opt-out."""
    source = source.strip()
    if not source:
        raise ValidationError({"consent_source": [_("Say where the consent came from.")]})
    customer.marketing_consent, customer.consent_source, customer.consent_at = True, source[:100], timezone.now()
    customer.opted_out, customer.opted_out_at = False, None
    with transaction.atomic():
        customer.save(update_fields=["marketing_consent", "consent_source", "consent_at", "opted_out",
                                     "opted_out_at", "updated_at"])
        timeline_record(customer=customer, kind="consent_given", actor=actor, summary=source[:300])
    return customer


# --- Merge ----------------------------------------------------------------------------------------

# What moves from the merged-away customer to the one that stays, in the order it is moved back on undo.
# Rows that would collide with the target's own (the same address fingerprint, tag, or timeline dedupe key)
# stay with the source: the target already has that fact, and undo then restores exactly what moved.
def _refresh_derived(customer_ids: list[int], *, segments: bool = True) -> None:
    """Recompute order figures and segmentation for the customers a merge touched."""
    from customers.segmentation.points import balances_refresh
    from customers.segmentation.services import segmentation_refresh
    from customers.stats import customer_stats_refresh

    customer_stats_refresh(customer_ids=customer_ids)
    balances_refresh(customer_ids=customer_ids)
    if segments:
        segmentation_refresh(customer_ids=customer_ids)


def customer_merge(
    *, source: Customer, target: Customer, actor=None, refresh_segments: bool = True
) -> CustomerMerge:
    """Merge `source` (a duplicate) into `target`: the rows of every registered move (customers/merging.py:
    orders, refunds, addresses, notes, timeline, tags, points, and what other apps add) move; `source` stays
    as a row with `merged_into` set. `CustomerMerge.moved` keeps the moved ids so `customer_unmerge` restores
    exactly. Logged in the audit trail and on both timelines.

    `refresh_segments=False` leaves the segmentation refresh to the caller: an import merges many customers
    and refreshes the segmentation once for all of them afterwards."""
    if source.pk == target.pk:
        raise ValidationError({"source": [_("A customer cannot be merged into itself.")]})
    with transaction.atomic():
        # Lock both rows in id order, so two merges of the same pair cannot interleave or deadlock.
        locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
                  .order_by("pk")}
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id or target.merged_into_id:
            raise ValidationError({"source": [_("Only customers that are not merged already can be merged.")]})
        moved = {}
        for move in merge_moves():
            moved[move.name] = move.movable_ids(source_id=source.pk, target_id=target.pk)
            move.move(moved[move.name], from_id=source.pk, to_id=target.pk)
        source.merged_into = target
        source.save(update_fields=["merged_into", "updated_at"])
        # A merged-away customer is in no segment and no RFM cell: its scores and stage go (an undo scores
        # it again, as a new customer, in the refresh that follows).
        CustomerScore.objects.filter(customer=source).delete()
        merge = CustomerMerge.objects.create(source=source, target=target, merged_by=_user(actor), moved=moved)
        counts = {kind: len(ids) for kind, ids in moved.items()}
        audit_record(actor=actor, action=CustomerAudit.MERGE, object_type="customer", object_id=target.pk,
                     detail={"merge_id": merge.pk, "source_id": source.pk, "target_id": target.pk, "moved": counts})
        names = {"source": source.display_name, "target": target.display_name}  # masked: shown to every role
        for customer in (target, source):
            timeline_record(customer=customer, kind="customer_merged", actor=actor,
                            data={"merge_id": merge.pk, "moved": counts, **names})
        _refresh_derived([source.pk, target.pk], segments=refresh_segments)
    return merge


def customer_unmerge(*, merge: CustomerMerge, actor=None) -> CustomerMerge:
    """Undo a merge: exactly the rows that moved go back, and the source is active again."""
    with transaction.atomic():
        merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at:
            raise ValidationError(_("This merge was undone already."))
        source = Customer.objects.select_for_update().get(pk=merge.source_id)
        target = Customer.objects.select_for_update().get(pk=merge.target_id)
        if target.merged_into_id:
            raise ValidationError(_("The customer this was merged into was merged on; undo that merge first."))
        for move in reversed(merge_moves()):
            move.move(merge.moved.get(move.name, []), from_id=target.pk, to_id=source.pk)
        # Points earned or reversed on the moved orders while they were the target's go back with the orders.
        PointsEntry.objects.filter(customer_id=target.pk, order_id__in=merge.moved.get("orders", [])).update(
            customer_id=source.pk
        )
        source.merged_into = None
        source.save(update_fields=["merged_into", "updated_at"])
        merge.undone_at = timezone.now()
        merge.save(update_fields=["undone_at"])
        audit_record(actor=actor, action=CustomerAudit.UNMERGE, object_type="customer", object_id=target.pk,
                     detail={"merge_id": merge.pk, "source_id": source.pk, "target_id": target.pk})
        names = {"source": source.display_name, "target": target.display_name}
        for customer in (target, source):
            timeline_record(customer=customer, kind="merge_undone", actor=actor,
                            data={"merge_id": merge.pk, **names})
        _refresh_derived([source.pk, target.pk])
    return merge


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- Export ---------------------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "xlsx")


EXPORT_JOB_KIND = "export_customers"
EXPORT_FILE_RETENTION_DAYS = 7


def customer_export(*, actor, queryset, filters: dict, file_format: str, progress=None, job_id: int | None = None):
    """Write the customers of `queryset` (the list's current filter) to a CSV or XLSX file and log who
    exported what: the filter and the row count land in the audit trail. Contact details are raw only for a
    role that may see them. Returns (file, row count). `progress(rows_written)` is called every few thousand rows."""
    from .resources import CustomerResource, write_csv, write_xlsx

    if file_format not in EXPORT_FORMATS:
        raise ValidationError({"format": [_("Choose CSV or XLSX.")]})
    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied(_("Your role cannot export customers."))
    resource = CustomerResource(mask_contact=not actor.has_perm("customers.view_pii"))
    writer = write_csv if file_format == "csv" else write_xlsx
    out, count = writer(resource, queryset, progress=progress)
    detail = {"format": file_format, "filter": filters, "rows": count}
    if job_id is not None:
        detail["job_id"] = job_id
    audit_record(actor=actor, action=CustomerAudit.EXPORT, object_type="customer", detail=detail)
    return out, count


def customer_export_needs_job(*, queryset) -> bool:
    """True when the export is too big to write within the request (HUIKE_EXPORT_IN_REQUEST_MAX_ROWS): counted
    up to the limit only, so asking costs a bounded read even at a million customers."""
    from django.conf import settings

    limit = settings.HUIKE_EXPORT_IN_REQUEST_MAX_ROWS
    return queryset.order_by()[: limit + 1].count() > limit


def customer_export_job_create(*, actor, filters: dict, file_format: str) -> Job:
    """Queue a big export as an "export_customers" Job. `filters` are the list's query parameters (lists by
    name), applied again by the worker; the export is written and logged there, under the requester's role."""
    from crm.services import job_create

    from .tasks import customer_export_job_run

    if file_format not in EXPORT_FORMATS:
        raise ValidationError({"format": [_("Choose CSV or XLSX.")]})
    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied(_("Your role cannot export customers."))
    with transaction.atomic():
        job = job_create(kind=EXPORT_JOB_KIND, created_by=actor, params={"filter": filters, "format": file_format})
        customer_export_job_run.delay_on_commit(job.id)
    return job


def customer_export_work(job: Job) -> dict:
    """The work of an export job (run by crm.jobs.job_run): write the file to private storage (never served by
    URL; downloaded through customers.views.customer_export_download) and return its name and row count. A run
    after a lost worker writes the file again (and logs the export once, when it completes)."""
    from django.core.files import File
    from django.core.files.storage import storages
    from django.http import QueryDict

    from crm.services import job_progress

    from .selectors import customer_filter

    params = QueryDict(mutable=True)
    for name, values in job.params["filter"].items():
        params.setlist(name, values)
    file_format = job.params["format"]
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise PermissionDenied(_("The person who asked for this export can no longer export."))
    filterset = customer_filter(params=params, user=actor)
    if not filterset.is_valid():
        raise ValidationError(_("The filter of this export is no longer valid."))
    total = filterset.qs.count()
    job_progress(job=job, done=0, total=total or 1, step=str(_("Writing the file")))
    out, count = customer_export(
        actor=actor, queryset=filterset.qs, filters=job.params["filter"], file_format=file_format,
        job_id=job.pk, progress=lambda done: job_progress(job=job, done=done, total=max(total, done)),
    )
    with out:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        name = storages["private"].save(f"exports/customers-{job.pk}-{stamp}.{file_format}", File(out))
    return {"file": name, "rows": count, "format": file_format, "filter": job.params["filter"]}


def customer_export_files_purge(*, older_than_days: int = EXPORT_FILE_RETENTION_DAYS) -> int:
    """Delete the files of exports finished more than `older_than_days` ago: they hold the shop's customers, and
    a manager who needs one again runs the export again. The job and its audit event stay."""
    from datetime import timedelta

    from django.core.files.storage import storages

    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted = 0
    for job in Job.objects.filter(kind=EXPORT_JOB_KIND, finished_at__lt=cutoff, result__has_key="file"):
        storages["private"].delete(job.result["file"])
        job.result = {key: value for key, value in job.result.items() if key != "file"} | {"file_deleted": True}
        job.save(update_fields=["result", "updated_at"])
        deleted += 1
    return deleted


def import_job_create(*, files: list, user) -> Job:
    """Store uploaded exports as the ImportFiles of a new "import_orders" Job and queue it once committed.
    The files are validated by customers.import_forms (the form or the API serializer) before this is called."""
    import hashlib

    from crm.services import job_create

    from .models import ImportFile
    from .tasks import import_job_run

    with transaction.atomic():
        job = job_create(kind="import_orders", created_by=user, params={"files": [f.name for f in files]})
        for upload in files:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            ImportFile.objects.create(
                job=job, file=upload, original_name=upload.name[:255], size=upload.size, sha256=digest.hexdigest()
            )
        import_job_run.delay_on_commit(job.id)
    return job


IMPORT_UPLOAD_RETENTION_DAYS = 30


def import_uploads_purge(*, older_than_days: int = IMPORT_UPLOAD_RETENTION_DAYS) -> int:
    """Delete the uploaded export files of imports finished more than `older_than_days` ago.

    The files hold buyers' names, phones and addresses; once imported they are only needed to look into a
    recent import. The ImportFile rows and their summaries stay. Returns how many files were deleted."""
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Job

    from .models import ImportFile

    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = ImportFile.objects.filter(job__status__in=Job.FINISHED, job__finished_at__lt=cutoff).exclude(file="")
    deleted = 0
    for upload in old.iterator():
        upload.file.delete(save=False)  # a file already gone from disk is fine: storage ignores it
        ImportFile.objects.filter(pk=upload.pk).update(file="")
        deleted += 1
    return deleted
