"""Reads shared by the HTML views, the export and the API."""

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from crm.pii import mask_address, mask_name, mask_phone

from .filters import CustomerFilter, OrderFilter
from .models import Customer, CustomerMerge, CustomerNote, Order, OrderLine, Refund, TimelineEvent

DETAIL_ORDERS = 50  # the customer page shows the latest orders; the order list has the rest
DETAIL_TIMELINE = 100


def customer_filter(*, params, queryset: QuerySet | None = None, user=None) -> CustomerFilter:
    """The filtered, sorted active customers for list, export and API (`.qs`), with the form to show. `user` is
    who searches: a search by a whole phone number is theirs only if their role may reveal, and is audited."""
    base = queryset if queryset is not None else Customer.objects.active()
    # The score is prefetched (one more query per page), not joined: with the join the planner read deep pages
    # (OFFSET 10,000) through a parallel scan, 130 ms instead of 25 at 1M customers (customer_list_bench).
    filterset = CustomerFilter(params, queryset=base.select_related("tier").prefetch_related("tags", "score"))
    filterset.user = user
    return filterset


def customer_get(*, user, pk: int) -> Customer:
    """The one access helper for a customer page: every role that can view customers sees every customer
    (the shop is one team); what differs by role is masking, applied when showing."""
    return get_object_or_404(Customer.objects.select_related("tier", "merged_into"), pk=pk)


def customer_find(*, term: str) -> Customer | None:
    """A customer picked by hand: `#123` or `123` is an id; anything else is the exact member name."""
    term = term.strip().lstrip("#")
    if not term:
        return None
    if term.isdigit():
        found = Customer.objects.filter(pk=int(term)).first()
        if found:
            return found
    return (
        Customer.objects.filter(identity_key=f"nick:{term}").first()
        or Customer.objects.active().filter(buyer_nick=term).order_by("id").first()
    )


POSSIBLE_DUPLICATES_SHOWN = 10


def customer_possible_duplicates(*, buyer_nick: str = "", display_nick: str = "", phone: str = "") -> list[Customer]:
    """Active customers that may be the same person as a new one: the same phone (also an imported phone that
    Taobao masked as 138****1234 and whose visible digits agree), or a member name or nickname equal to the new
    member name or nickname (case aside). Reads the phone-tail index and the name indexes, never the whole table."""
    found: dict[int, Customer] = {}
    names = {name.strip() for name in (buyer_nick, display_nick) if name and name.strip()}
    if names:
        by_name = Q()
        for name in names:
            by_name |= Q(buyer_nick__iexact=name) | Q(display_nick__iexact=name)
        for customer in Customer.objects.active().filter(by_name).order_by("id")[:POSSIBLE_DUPLICATES_SHOWN]:
            found[customer.pk] = customer
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 4:
        same_tail = Customer.objects.active().filter(phone_tail=digits[-4:]).order_by("id")
        for customer in same_tail[:200]:  # a tail is shared by ~1 in 10,000: a few hundred at most
            if _same_phone(customer.phone, digits):
                found.setdefault(customer.pk, customer)
    return list(found.values())[:POSSIBLE_DUPLICATES_SHOWN]


def customer_likely_duplicates(*, customer: Customer) -> list[Customer]:
    """Other active customers that are probably this one: the same phone, or the same masked real name in the
    same province and city (张** in 浙江 杭州: what Taobao's masked exports leave of one buyer under two member
    names). Read through the phone-tail and region indexes; the name is compared after masking, in Python."""
    found = {
        twin.pk: twin for twin in customer_possible_duplicates(phone=customer.phone)
        if twin.pk != customer.pk
    }
    if customer.phone and customer.phone_tail:  # also two copies of one Taobao-masked phone (138****1234)
        same_phone = (Customer.objects.active().filter(phone_tail=customer.phone_tail, phone=customer.phone)
                      .exclude(pk=customer.pk).order_by("id"))
        for twin in same_phone[:POSSIBLE_DUPLICATES_SHOWN]:
            found.setdefault(twin.pk, twin)
    masked = mask_name(customer.real_name)
    if masked and customer.province and customer.city:
        same_region = (Customer.objects.active().filter(province=customer.province, city=customer.city,
                                                        real_name__startswith=masked[0])
                       .exclude(pk=customer.pk).order_by("id"))
        for twin in same_region[:200]:  # one region and one surname: a handful, bounded anyway
            if mask_name(twin.real_name) == masked:
                found.setdefault(twin.pk, twin)
    return list(found.values())[:POSSIBLE_DUPLICATES_SHOWN]


MERGE_CANDIDATES_SHOWN = 10


def merge_candidates(*, target: Customer, term: str) -> list[Customer]:
    """Customers matching a search typed on the merge picker (the customer list's search: name part, phone tail,
    whole phone; or #id), never the target itself or one merged already."""
    term = term.strip()
    if not term:
        return []
    if term.startswith("#") and term[1:].isdigit():
        queryset = Customer.objects.active().filter(pk=int(term[1:]))
    else:
        filterset = customer_filter(params={"q": term})
        queryset = filterset.qs if filterset.is_valid() else Customer.objects.none()
    return list(queryset.exclude(pk=target.pk)[:MERGE_CANDIDATES_SHOWN])


def _same_phone(stored: str, digits: str) -> bool:
    """`stored` may be masked by Taobao (138****1234): then every digit it shows must agree with `digits`."""
    stored = re.sub(r"[\s-]", "", stored).removeprefix("+86")
    digits = digits.removeprefix("86") if len(digits) == 13 else digits
    if "*" not in stored:
        return re.sub(r"\D", "", stored) == digits
    if len(stored) != len(digits):
        return False
    return all(shown in ("*", wanted) for shown, wanted in zip(stored, digits, strict=True))


@dataclass
class CustomerDetail:
    customer: Customer
    addresses: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    has_more_orders: bool = False
    refunds: list = field(default_factory=list)
    timeline: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    merges: list = field(default_factory=list)


def customer_detail(*, customer: Customer) -> CustomerDetail:
    """Everything the customer page shows, in a fixed number of queries."""
    orders = list(
        Order.objects.filter(customer=customer)
        .order_by(F("paid_at").desc(nulls_last=True), "-id")  # index order_customer_paid
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("line_key")))[: DETAIL_ORDERS + 1]
    )
    return CustomerDetail(
        customer=customer,
        addresses=list(customer.addresses.order_by(F("last_seen_at").desc(nulls_last=True), "id")),
        orders=orders[:DETAIL_ORDERS],
        has_more_orders=len(orders) > DETAIL_ORDERS,
        refunds=list(Refund.objects.filter(customer=customer).order_by(F("applied_at").desc(nulls_last=True), "-id")),
        timeline=list(TimelineEvent.objects.filter(customer=customer).select_related("actor")[:DETAIL_TIMELINE]),
        notes=list(CustomerNote.objects.filter(customer=customer).select_related("author")),
        merges=list(
            CustomerMerge.objects.filter(Q(target=customer) | Q(source=customer))
            .select_related("source", "target", "merged_by")
        ),
    )


def order_filter(*, params, queryset: QuerySet | None = None) -> OrderFilter:
    base = queryset if queryset is not None else Order.objects.all()
    return OrderFilter(params, queryset=base.select_related("customer").order_by("-id"))


def order_get_queryset() -> QuerySet:
    """Orders with what an order page shows: the customer, lines in their order, refunds."""
    return Order.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("line_key")),
        Prefetch("refunds", queryset=Refund.objects.select_related("line")),
    )


def order_get(*, user, pk: int) -> Order:
    return get_object_or_404(order_get_queryset(), pk=pk)


# --- Masking --------------------------------------------------------------------------------------
# Contact details are masked for everyone by default (managers included); a manager sees them raw only in
# the one response that follows a logged reveal (customers.services.contact.customer_contact_reveal).


def mask_email(email: str) -> str:
    if not email or "@" not in email:
        return "****" if email else ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def customer_contact(customer: Customer, *, raw: dict | None = None) -> dict[str, str]:
    """What to show for a customer's contact fields: the revealed raw values, or masked ones."""
    if raw is not None:
        return {name: raw.get(name, "") for name in ("real_name", "phone", "email", "address")}
    return {
        "real_name": mask_name(customer.real_name),
        "phone": mask_phone(customer.phone),
        "email": mask_email(customer.email),
        "address": _mask_street(customer.address),
    }


def _mask_street(detail: str) -> str:
    # Customer and shipping-address rows keep province/city/district in their own fields (shown as they are);
    # the street part is hidden whole, since it may hold anything from a building to a room number.
    return "****" if detail else ""


def receiver_contact(obj, *, raw: bool = False) -> dict[str, str]:
    """Receiver name/phone/address of an order or a shipping address, masked unless `raw`."""
    name = obj.receiver_name
    if isinstance(obj, Order):
        phone, address, masked_address = obj.receiver_phone, obj.receiver_address, mask_address(obj.receiver_address)
    else:  # a CustomerAddress: the street detail only, its region is in separate fields
        phone, address, masked_address = obj.phone, obj.detail, _mask_street(obj.detail)
    if raw:
        return {"name": name, "phone": phone, "address": address}
    return {"name": mask_name(name), "phone": mask_phone(phone), "address": masked_address}


def merge_preview(*, source: Customer, target: Customer) -> dict[str, int]:
    """How many rows of each kind a merge of `source` into `target` would move."""
    from .merging import merge_moves

    return {move.name: len(move.movable_ids(source_id=source.pk, target_id=target.pk)) for move in merge_moves()}


def region_options() -> dict[str, list[str]]:
    """Every province and city that customers have, for the list's region pickers (datalists).

    On PostgreSQL a loose index scan of the region index (province, city, ...): one index probe per distinct
    pair, a few hundred in all, instead of a DISTINCT over every customer row (a million at the target size)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Customer._meta.db_table)
        sql = f"""
            WITH RECURSIVE regions(province, city) AS (
                (SELECT province, city FROM {table} ORDER BY province, city LIMIT 1)
                UNION ALL
                SELECT next.province, next.city FROM regions r, LATERAL (
                    SELECT c.province, c.city FROM {table} c
                    WHERE (c.province, c.city) > (r.province, r.city)
                    ORDER BY c.province, c.city LIMIT 1
                ) next
            )
            SELECT province, city FROM regions"""
        with connection.cursor() as cursor:
            cursor.execute(sql)
            pairs = cursor.fetchall()
    else:
        pairs = list(Customer.objects.order_by().values_list("province", "city").distinct())
    return {
        "provinces": sorted({province for province, _city in pairs if province}),
        "cities": sorted({city for _province, city in pairs if city}),
    }


EXACT_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class ListCount:
    value: int
    exact: bool


def customer_list_count(queryset: QuerySet) -> ListCount:
    """How many customers a filtered list holds: exact up to EXACT_COUNT_LIMIT (a count that stops reading
    there), beyond that the planner's estimate, which costs no scan (an exact count of a million rows takes
    seconds, and the page does not need the last digit)."""
    queryset = queryset.order_by()
    counted = queryset[: EXACT_COUNT_LIMIT + 1].count()
    if counted <= EXACT_COUNT_LIMIT or connection.vendor != "postgresql":
        return ListCount(value=counted if counted <= EXACT_COUNT_LIMIT else queryset.count(), exact=True)
    return ListCount(value=max(_planner_rows(queryset), EXACT_COUNT_LIMIT + 1), exact=False)


def _planner_rows(queryset: QuerySet) -> int:
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg returns the JSON already decoded; a plain string on other drivers
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])

