"""A customer entered or edited by hand, notes, consent and opt-out."""

import re
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from crm.services import audit_record
from customers.audit import CustomerAudit
from customers.models import Customer, CustomerNote
from customers.selectors import customer_possible_duplicates

from .contact import CONTACT_FIELDS
from .timeline import timeline_record

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
