"""The customer and order filters, shared by the HTML list, the export, the API and bulk tagging.

Which filters are cheap at a million customers: phone tail, region and the default recency order use
indexes; the tier is a foreign key (indexed); tags go through the (tag, customer) index in an EXISTS.
Spend and order-count filters have no index on purpose (each index slows every import); the page LIMIT bounds
them, since the scan stops as soon as a page of matches is found. Name substrings are served on PostgreSQL by GIN
trigram indexes on UPPER(name) (migration customers/0006_customer_name_trigram_search); SQLite scans.
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from crm.bounds import BoundedDateFilter, BoundedNumberFilter

from .models import Customer, CustomerTag, Gender, Order, OrderStatus, Segment, Tag, Tier

# Sort keys the list and the API accept → the ORDER BY. Every ordering ends in id so pages are stable.
# Each pair is one index read forwards and backwards: `customer_last_paid_desc` (also the tail of
# `customer_region_recent`), `customer_total_paid`, `customer_order_count`.
CUSTOMER_SORTS = {
    "-last_paid": (F("last_paid_at").desc(nulls_last=True), "id"),
    "last_paid": (F("last_paid_at").asc(nulls_first=True), "-id"),
    "-total_paid": ("-total_paid", "id"),
    "total_paid": ("total_paid", "-id"),
    "-orders": ("-order_count", "id"),
    "orders": ("order_count", "-id"),
    "-id": ("-id",),
    "id": ("id",),
}
DEFAULT_SORT = "-last_paid"
# With the stage filter, recency is read from the score table's copy of last paid (CustomerScore), so that
# "churned, most recent first" is one range of its index (stage, last paid, customer) and not a walk along the
# customers' recency index past every customer of the other stages (3.4 s at 1M customers). The order and the
# join on the customer id are the same; only the copy may lag the customer's value until the segmentation
# refresh that follows an import.
STAGE_SORTS = {
    "-last_paid": (F("score__last_paid_at").desc(nulls_last=True), "id"),
    "last_paid": (F("score__last_paid_at").asc(nulls_first=True), "-id"),
}
SORT_LABELS = {
    "-last_paid": _("Last paid, newest first"),
    "last_paid": _("Last paid, oldest first"),
    "-total_paid": _("Total paid, highest first"),
    "total_paid": _("Total paid, lowest first"),
    "-orders": _("Orders, most first"),
    "orders": _("Orders, fewest first"),
    "-id": _("Newest customers first"),
    "id": _("Oldest customers first"),
}

# The stages the segmentation layer assigns (customers/segmentation/lifecycle.py); this copy is only a
# fallback so the filter still renders if that module cannot be imported.
FALLBACK_LIFECYCLE_STAGES = [
    ("prospect", _("Prospect")),
    ("new", _("New")),
    ("active", _("Active")),
    ("dormant", _("Dormant")),
    ("churned", _("Churned")),
]


def lifecycle_choices():
    try:
        from customers.segmentation.lifecycle import STAGES
    except ImportError:
        return FALLBACK_LIFECYCLE_STAGES
    return list(STAGES.items())


SCORED = "scored"  # any RFM group: the customers with a paid order, which the RFM page counts as scored


def rfm_group_choices():
    from customers.segmentation.rfm import group_choices

    return [(SCORED, _("Any group (scored)")), *group_choices()]


def start_of_day(day):
    """Midnight of `day` in the shop's time zone, so a date filter compares a plain indexed datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


@extend_schema_field(OpenApiTypes.INT)  # the API takes the segment's id (the schema cannot guess it: no model field)
class SegmentFilter(django_filters.ModelChoiceFilter):
    pass


class DateInput(forms.DateInput):
    input_type = "date"


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search", label=_("Search"),
        help_text=_("Part of the member name, nickname or real name; the phone's last 4 digits; or the whole phone."),
    )
    # A prefix, so 广东 finds 广东省 and 广州 finds 广州市 (a range of the region index, like the exact match).
    province = django_filters.CharFilter(lookup_expr="startswith", label=_("Province"),
                                         help_text=_("Start of the name: 广东 finds 广东省."))
    city = django_filters.CharFilter(lookup_expr="startswith", label=_("City"),
                                     help_text=_("Start of the name: 广州 finds 广州市."))
    tier = django_filters.ModelChoiceFilter(queryset=Tier.objects.all(), label=_("Tier"))
    tags = django_filters.ModelMultipleChoiceFilter(
        queryset=Tag.objects.all(), method="filter_tags", label=_("Tags"),
        help_text=_("Customers with any of these tags."),
    )
    lifecycle = django_filters.ChoiceFilter(
        field_name="score__lifecycle_stage", choices=lifecycle_choices, label=_("Lifecycle stage")
    )
    rfm_group = django_filters.ChoiceFilter(
        field_name="score__rfm_group", choices=rfm_group_choices, label=_("RFM group"), method="filter_rfm_group"
    )
    segment = SegmentFilter(
        queryset=Segment.objects.order_by("name"), method="filter_segment", label=_("Segment"),
    )
    gender = django_filters.ChoiceFilter(choices=[c for c in Gender.choices if c[0]], label=_("Gender"))
    # One row of a segment's insight tables (age:25–29, aov:100–200, product:12, paying:1), so every number on
    # the insight page links to its customers; set by those links, not shown on the filter form.
    insight = django_filters.CharFilter(method="filter_insight", widget=forms.HiddenInput)
    spend_min = BoundedNumberFilter(field_name="total_paid", lookup_expr="gte", label=_("Spent at least"))
    spend_max = BoundedNumberFilter(field_name="total_paid", lookup_expr="lte", label=_("Spent at most"))
    orders_min = BoundedNumberFilter(field_name="order_count", lookup_expr="gte", label=_("Orders, at least"))
    orders_max = BoundedNumberFilter(field_name="order_count", lookup_expr="lte", label=_("Orders, at most"))
    paid_after = BoundedDateFilter(method="filter_paid_after", label=_("Last paid on or after"),
                                   widget=DateInput)
    paid_before = BoundedDateFilter(method="filter_paid_before", label=_("Last paid on or before"),
                                    widget=DateInput)
    sort = django_filters.ChoiceFilter(choices=list(SORT_LABELS.items()), method="filter_sort",
                                       label=_("Sort by"), empty_label=None)

    class Meta:
        model = Customer
        fields = []

    def __init__(self, data=None, queryset=None, **kwargs):
        if queryset is None:
            queryset = Customer.objects.active()
        super().__init__(data, queryset=queryset, **kwargs)
        for name in ("spend_min", "spend_max", "orders_min", "orders_max"):
            self.filters[name].field.widget.attrs["min"] = 0

    @property
    def qs(self):
        # Ordered here rather than by the sort filter, which cannot see the stage filter (see STAGE_SORTS).
        return super().qs.order_by(*self.ordering())

    def ordering(self) -> tuple:
        data = getattr(self.form, "cleaned_data", {})
        sort = data.get("sort") if data.get("sort") in CUSTOMER_SORTS else DEFAULT_SORT
        if data.get("lifecycle") and sort in STAGE_SORTS:
            return STAGE_SORTS[sort]
        return CUSTOMER_SORTS[sort]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = value.replace(" ", "").replace("-", "").removeprefix("+86")
        if digits.isdigit() and len(digits) == 4:
            return queryset.filter(phone_tail=digits)
        # A phone is found by its last 4 digits (what every role sees of it) or, for a role that may reveal
        # contact details, by the whole 11 digits, which is audited. Any other run of digits matched against the
        # stored phone would let someone read a masked number digit by digit (`158****8561`: ~500 searches).
        from crm.pii import can_reveal_pii

        user = getattr(self, "user", None) or getattr(self.request, "user", None)
        if digits.isdigit() and len(digits) == 11 and user is not None and can_reveal_pii(user):
            # Narrow by the indexed tail first, then match the end of the stored phone (which may carry +86).
            found = queryset.filter(phone_tail=digits[-4:], phone__endswith=digits)
            from .services.contact import customer_phone_search_record  # local, like services' own use of selectors

            customer_phone_search_record(actor=user, phone=digits, queryset=found)
            return found
        # An exact member name (what a seller copies from Wangwang) is found through the unique index. Anything
        # else is a substring search: `icontains` emits UPPER(col) LIKE UPPER('%…%'), which on PostgreSQL the
        # trigram indexes on UPPER(col) serve (a bitmap OR of the three; see bench/README.md for the figure).
        # Keep the lookup `icontains`: another spelling (ILIKE, `__contains`) would not match those indexes.
        # A search of fewer than three characters has no trigram, so it falls back to reading in list order until
        # a page of matches is found, which is quick because such short names match many customers.
        exact = Customer.objects.filter(identity_key=f"nick:{value}").values_list("pk", flat=True)[:1]
        if exact:
            return queryset.filter(pk__in=list(exact))
        return queryset.filter(
            Q(buyer_nick__icontains=value)
            | Q(display_nick__icontains=value)
            | Q(real_name__icontains=value)
        )

    def filter_rfm_group(self, queryset, name, value):
        if value == SCORED:
            return queryset.filter(score__rfm_group__gt="")
        return queryset.filter(score__rfm_group=value)

    def filter_segment(self, queryset, name, value):
        from customers.segmentation.selectors import segment_members

        if not value:
            return queryset
        return queryset.filter(pk__in=segment_members(value).values("pk"))

    def filter_insight(self, queryset, name, value):
        from customers.segmentation.insight import insight_row_filter

        dimension, _sep, key = value.partition(":")
        return insight_row_filter(queryset, dimension=dimension, key=key)

    def filter_tags(self, queryset, name, value):
        if not value:
            return queryset
        tagged = CustomerTag.objects.filter(customer=OuterRef("pk"), tag__in=value)
        return queryset.filter(Exists(tagged))

    def filter_paid_after(self, queryset, name, value):
        return queryset.filter(last_paid_at__gte=start_of_day(value))

    def filter_paid_before(self, queryset, name, value):
        return queryset.filter(last_paid_at__lt=start_of_day(value + timedelta(days=1)))

    def filter_sort(self, queryset, name, value):
        return queryset  # the order is applied by `qs`


class OrderFilter(django_filters.FilterSet):
    customer = BoundedNumberFilter(field_name="customer_id", label=_("Customer id"))
    order_no = django_filters.CharFilter(label=_("Order number"))
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices, label=_("Status"))
    paid_after = BoundedDateFilter(method="filter_paid_after", label=_("Paid on or after"), widget=DateInput)
    paid_before = BoundedDateFilter(method="filter_paid_before", label=_("Paid on or before"),
                                    widget=DateInput)
    ordered_after = BoundedDateFilter(method="filter_ordered_after", label=_("Ordered on or after"),
                                      widget=DateInput)
    ordered_before = BoundedDateFilter(method="filter_ordered_before", label=_("Ordered on or before"),
                                       widget=DateInput)

    class Meta:
        model = Order
        fields = []

    def filter_paid_after(self, queryset, name, value):
        return queryset.filter(paid_at__gte=start_of_day(value))

    def filter_paid_before(self, queryset, name, value):
        return queryset.filter(paid_at__lt=start_of_day(value + timedelta(days=1)))

    def filter_ordered_after(self, queryset, name, value):
        return queryset.filter(ordered_at__gte=start_of_day(value))

    def filter_ordered_before(self, queryset, name, value):
        return queryset.filter(ordered_at__lt=start_of_day(value + timedelta(days=1)))
