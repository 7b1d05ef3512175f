"""Raw contact details: shown only on a logged reveal, searched by a whole phone number only with an audit."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import AuditEvent
from crm.pii import mask_phone
from crm.services import audit_record
from customers.audit import CustomerAudit
from customers.models import Customer

from .timeline import timeline_record

# Contact details: masked for everyone in lists and pages, shown raw only on a logged reveal.
CONTACT_FIELDS = ("real_name", "phone", "email", "address")


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
