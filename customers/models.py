"""Customers, their orders and refunds as imported from the seller centre, and the customer timeline.

Indexes are chosen on purpose: every index slows the bulk import (see docs/performance.md), so each one
below answers a query a page or a segment runs. Unique text keys use Meta.constraints rather than
unique=True, because on PostgreSQL unique=True on a CharField adds a second `_like` index we never use.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.bounds import MAX_DAYS, check_count, check_days
from crm.db import NullsLastIndex
from crm.models import TimeStampedModel
from crm.pii import mask_name

from .querysets import CustomerQuerySet, OrderQuerySet

logger = logging.getLogger(__name__)

MONEY = {"max_digits": 14, "decimal_places": 2}


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class Tier(models.Model):
    """A membership tier (普通会员, 高级会员, VIP …). Higher rank is better."""

    name = models.CharField(_("name"), max_length=40)
    rank = models.PositiveSmallIntegerField(_("rank"))
    min_total_paid = models.DecimalField(_("minimum total paid"), null=True, blank=True, **MONEY)
    min_paid_orders = models.PositiveIntegerField(_("minimum paid orders"), null=True, blank=True)
    discount_label = models.CharField(_("discount"), max_length=40, blank=True)
    benefits = models.TextField(_("benefits"), blank=True)

    class Meta:
        verbose_name = _("membership tier")
        verbose_name_plural = _("membership tiers")
        ordering = ["rank"]
        constraints = [models.UniqueConstraint(fields=["rank"], name="tier_rank_unique")]
        permissions = [("assign_tier", _("Can change a customer's tier by hand"))]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=40)
    color = models.CharField(_("colour"), max_length=7, default="#1677ff")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="tag_name_unique")]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    """One buyer of the shop.

    `identity_key` is how imports recognise the same buyer again: `nick:<买家会员名>` when the export shows
    the member name unmasked, otherwise a fallback built from the other buyer fields (see
    customers/importing/formats/identity.py). Merged-away customers keep their row with `merged_into` set.
    """

    class Source(models.TextChoices):
        IMPORT = "import", _("Order import")
        MANUAL = "manual", _("Entered by hand")
        API = "api", _("API")

    identity_key = models.CharField(_("identity key"), max_length=200)
    buyer_nick = models.CharField(_("member name"), max_length=100, blank=True)  # 买家会员名, may be masked
    display_nick = models.CharField(_("nickname"), max_length=100, blank=True)  # 买家会员昵称
    real_name = models.CharField(_("real name"), max_length=50, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True, default="")
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    lunar_birthday_month = models.PositiveSmallIntegerField(_("lunar birthday month"), null=True, blank=True)
    lunar_birthday_day = models.PositiveSmallIntegerField(_("lunar birthday day"), null=True, blank=True)

    phone = models.CharField(_("phone"), max_length=20, blank=True)
    phone_tail = models.CharField(_("phone last 4"), max_length=4, blank=True)
    phone_is_masked = models.BooleanField(_("phone masked by Taobao"), default=False)
    phone_is_virtual = models.BooleanField(_("virtual number"), default=False)
    phone_virtual_expires_at = models.DateTimeField(_("virtual number expires"), null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wangwang = models.CharField(_("Wangwang id"), max_length=100, blank=True)

    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    district = models.CharField(_("district"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)

    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.IMPORT)
    marketing_consent = models.BooleanField(_("consents to marketing"), default=False)
    consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    opted_out = models.BooleanField(_("opted out"), default=False)
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)

    # Derived from orders and refunds; recomputed in SQL by customers.stats.customer_stats_refresh.
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    first_paid_at = models.DateTimeField(_("first paid order"), null=True, blank=True)
    last_paid_at = models.DateTimeField(_("last paid order"), null=True, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    paid_order_count = models.PositiveIntegerField(_("paid orders"), default=0)
    total_paid = models.DecimalField(_("total paid"), default=0, **MONEY)
    avg_order_value = models.DecimalField(_("average order value"), default=0, **MONEY)
    refund_total = models.DecimalField(_("refunded"), default=0, **MONEY)
    return_count = models.PositiveIntegerField(_("returns"), default=0)

    # Segmentation, kept current by customers.segmentation services. RFM scores and the lifecycle stage are in
    # CustomerScore (below), not here.
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.SET_NULL)
    points_balance = models.IntegerField(_("points"), default=0)  # always equal to the ledger sum
    tags = models.ManyToManyField(Tag, through="CustomerTag", related_name="customers", blank=True)

    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="merged_from",
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [models.UniqueConstraint(fields=["identity_key"], name="customer_identity_unique")]
        # Plain b-tree indexes (no `_like` twins): phone-tail search, region filter, recency sort and filters.
        # The recency index is built in the customer list's default order (last paid first, never-paid last,
        # then id): PostgreSQL cannot serve `DESC NULLS LAST` from a plain ascending index (scanned backwards
        # it gives NULLS FIRST), so a plain index meant a full sort of every customer per page.
        # The region index ends in the same recency order, so "customers in 杭州, most recent first" reads one
        # index range instead of walking the recency index past every other region (measured at 1M customers:
        # 1 s → 12 ms); it still serves province-only and province+city filters. Spend and order count are the
        # list's other sorts and the most common segment rules: without an index each sorted page was a parallel
        # sort of every customer (1.4 s at 1M); with one, 20 ms.
        indexes = [
            models.Index(fields=["phone_tail"], name="customer_phone_tail"),
            NullsLastIndex(
                F("province"), F("city"), F("last_paid_at").desc(nulls_last=True), F("id"),
                name="customer_region_recent",
            ),
            NullsLastIndex(F("last_paid_at").desc(nulls_last=True), F("id"), name="customer_last_paid_desc"),
            models.Index(F("total_paid").desc(), F("id"), name="customer_total_paid"),
            # The most common segment rules, region and recency, with spend and the id beside them: a segment
            # count (region, last paid within N days, total paid ≥ X, a tag) reads one range of this index and
            # no customer row at all (index-only), where the region index above (city sits between province
            # and recency) led to the heap rows of every match: segment_bench (a) 200–500 ms → ~100 ms at 1M
            # customers on a loaded machine. Unmerged customers only: every segment excludes the merged ones.
            models.Index(fields=["province", "last_paid_at", "total_paid", "id"], name="customer_region_paid_active",
                         condition=Q(merged_into__isnull=True)),
            models.Index(F("order_count").desc(), F("id"), name="customer_order_count"),
        ]
        permissions = [
            ("view_pii", _("Can see unmasked phone numbers and addresses")),
            ("reveal_pii", _("Can reveal one customer's contact details, with a reason")),
            ("export_customer", _("Can export customer data")),
            ("merge_customer", _("Can merge customers")),
            ("import_orders", _("Can import order exports")),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        # The real name is contact data, masked for every role in lists and titles (a reveal shows it raw), so a
        # customer known only by it is named by its masked form.
        return self.buyer_nick or self.display_nick or mask_name(self.real_name) or f"#{self.pk}"

    @property
    def current_score(self) -> "CustomerScore":
        """The customer's scores and stage; blank (unsaved) before the first scoring and after a merge away.
        Lists prefetch "score" so that this costs no query per row."""
        try:
            return self.score
        except CustomerScore.DoesNotExist:
            return CustomerScore(customer=self)


class CustomerScore(models.Model):
    """RFM scores, RFM group and lifecycle stage of one unmerged customer, derived nightly and after imports by
    customers.segmentation.scores. No row: not scored yet (or merged away: merged customers keep no scores).

    Apart from the customer row on purpose: a customer row is wide and carries ~14 indexes (three of them GIN
    trigram), and the stage was one of the indexed columns, so every stage change was a non-HOT update writing
    an entry into each of them; the first scoring of 1,000,000 customers took ~120 s (segment_bench (c)).
    Here the first scoring is an INSERT of narrow rows and later ones update narrow rows with one index.

    `last_paid_at` is a copy of the customer's, taken when the stage is computed from it, for the customer
    list's stage filter: "churned, most recent first" must read one range of one index (stage, recency) to
    stay at ~10 ms a page at 1M customers; an index on this table cannot include the customer's column.
    Between an import and the segmentation refresh that follows it the copy (like the stage) may lag.
    No database FK constraint (derived data written in bulk; the ORM cascades a customer's deletion).
    """

    customer = models.OneToOneField(
        Customer, primary_key=True, related_name="score", on_delete=models.CASCADE, db_constraint=False,
    )
    rfm_r = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    rfm_f = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    rfm_m = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    rfm_group = models.CharField(_("RFM group"), max_length=24, blank=True)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=12, blank=True)
    lifecycle_changed_at = models.DateTimeField(_("stage since"), null=True, blank=True)
    last_paid_at = models.DateTimeField(_("last paid order"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [
            # The customer list's stage filter in its default order (customers/filters.py STAGE_SORTS).
            NullsLastIndex(
                F("lifecycle_stage"), F("last_paid_at").desc(nulls_last=True), F("customer"),
                name="customerscore_stage_recent",
            ),
        ]


class CustomerTag(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("By hand")
        RULE = "rule", _("Auto-tag rule")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(_("tagged at"), default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customer_tag_unique")]
        # Segment rules ask "who has tag X": look up by tag first.
        indexes = [models.Index(fields=["tag", "customer"], name="customertag_tag_customer")]


class CustomerAddress(models.Model):
    """Every shipping address seen for a customer; `fingerprint` de-duplicates repeats across orders."""

    # No database FK constraint and no index of its own (customer_address_unique leads with customer): the import
    # writes addresses in bulk, and a deferred FK check per row was a tenth of its time. Django still cascades.
    customer = models.ForeignKey(
        Customer, related_name="addresses", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    fingerprint = models.CharField(max_length=40)
    receiver_name = models.CharField(_("receiver"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    district = models.CharField(_("district"), max_length=30, blank=True)
    detail = models.CharField(_("address"), max_length=255, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(fields=["customer", "fingerprint"], name="customer_address_unique")
        ]


class CustomerNote(models.Model):
    customer = models.ForeignKey(Customer, related_name="notes", on_delete=models.CASCADE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("written at"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at"]


class Product(models.Model):
    """A product, keyed by 商家编码 (merchant code), or by its title when the shop set no code."""

    key = models.CharField(max_length=200)
    merchant_code = models.CharField(_("merchant code"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=255)
    # Median days between paid purchases of this product by the same customer (nightly).
    repurchase_interval_days = models.PositiveIntegerField(_("typical repurchase interval"), null=True, blank=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.UniqueConstraint(fields=["key"], name="product_key_unique")]

    def __str__(self) -> str:
        return self.title


class CustomerProduct(models.Model):
    """That a customer has bought a product in at least one paid order: derived from orders and lines, kept
    by customers.segmentation.purchases (refreshed with the segmentation after each import and merge).

    Segment insight counts each member's products from here: one narrow row per (customer, product), stored
    in customer order, instead of joining members → orders → lines (two random index probes per order line:
    2–4 s for a 100,000-member segment at 3M orders; this table: ~0.6 s).
    Derived data that is rebuilt in bulk, so no foreign-key constraints (their per-row checks would cost more
    than the insert); the ORM still cascades a customer's or product's deletion to its rows.
    """

    pk = models.CompositePrimaryKey("customer", "product")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    product = models.ForeignKey("Product", on_delete=models.CASCADE, db_constraint=False, db_index=False)

    class Meta:
        verbose_name = _("product bought")
        verbose_name_plural = _("products bought")


class OrderStatus(models.TextChoices):
    """Normalised 订单状态. The rank in STATUS_RANK decides which of two exports' statuses wins."""

    UNPAID = "unpaid", _("Awaiting payment")
    PAID = "paid", _("Paid, awaiting shipment")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    OTHER = "other", _("Other")


STATUS_RANK = {
    OrderStatus.OTHER: 0,
    OrderStatus.UNPAID: 1,
    OrderStatus.PAID: 2,
    OrderStatus.SHIPPED: 3,
    OrderStatus.COMPLETED: 4,
    OrderStatus.CLOSED: 4,
}


class Order(models.Model):
    order_no = models.CharField(_("order number"), max_length=32)  # exact text, never a number
    # Bulk-imported table: no database FK constraint (its per-row deferred check ran at every import COMMIT; only the
    # importer and the merge service write this column, and Django applies on_delete itself), and no index of its
    # own (order_customer_paid leads with customer).
    customer = models.ForeignKey(
        Customer, related_name="orders", null=True, on_delete=models.SET_NULL, db_constraint=False, db_index=False
    )
    buyer_nick = models.CharField(_("member name"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices)
    status_text = models.CharField(_("status as exported"), max_length=60, blank=True)
    total_amount = models.DecimalField(_("total"), null=True, blank=True, **MONEY)
    paid_amount = models.DecimalField(_("paid"), null=True, blank=True, **MONEY)  # NULL: unknown, not 0
    shipping_fee = models.DecimalField(_("shipping fee"), null=True, blank=True, **MONEY)
    refund_amount = models.DecimalField(_("refunded"), null=True, blank=True, **MONEY)
    buyer_message = models.TextField(_("buyer message"), blank=True)
    seller_memo = models.TextField(_("seller memo"), blank=True)
    close_reason = models.CharField(_("close reason"), max_length=100, blank=True)
    receiver_name = models.CharField(_("receiver"), max_length=50, blank=True)
    receiver_phone = models.CharField(_("receiver phone"), max_length=40, blank=True)
    receiver_address = models.CharField(_("shipping address"), max_length=400, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    district = models.CharField(_("district"), max_length=30, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    logistics_company = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_no = models.CharField(_("tracking number"), max_length=200, blank=True)
    item_titles = models.TextField(_("items"), blank=True)
    item_kinds = models.PositiveIntegerField(_("distinct items"), null=True, blank=True)
    item_quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    shop_name = models.CharField(_("shop"), max_length=100, blank=True)
    ordered_at = models.DateTimeField(_("ordered at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("receipt confirmed at"), null=True, blank=True)
    # md5 of the imported fields: a re-import with the same hash changes nothing.
    content_hash = models.CharField(max_length=32, blank=True)
    # md5 of the export record this order was last written from, by the set-based import (staged.py): the same
    # record again is unchanged without being cleaned again. Blank when the row-by-row import wrote it.
    source_hash = models.CharField(max_length=32, blank=True, default="")
    imported_at = models.DateTimeField(_("first imported"), default=timezone.now)
    updated_at = models.DateTimeField(_("last updated"), default=timezone.now)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [models.UniqueConstraint(fields=["order_no"], name="order_no_unique")]
        indexes = [models.Index(fields=["customer", "paid_at"], name="order_customer_paid")]

    def __str__(self) -> str:
        return self.order_no


class OrderLine(models.Model):
    """A line of the 宝贝报表. `line_key` is the 子订单编号, or `<order_no>:<n>` in layouts without one."""

    line_key = models.CharField(max_length=48)
    order_no = models.CharField(_("order number"), max_length=32)
    # NULL until the matching 订单报表 row is imported (the two files may arrive in either order).
    # Bulk-imported: no database FK constraints (see Order.customer); the importer links them by order_no and key.
    order = models.ForeignKey(
        Order, related_name="lines", null=True, blank=True, on_delete=models.CASCADE, db_constraint=False
    )
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False)
    title = models.CharField(_("title"), max_length=255, blank=True)
    merchant_code = models.CharField(_("merchant code"), max_length=100, blank=True)
    sku_properties = models.CharField(_("SKU"), max_length=255, blank=True)
    package_info = models.CharField(_("package"), max_length=255, blank=True)
    external_code = models.CharField(_("external code"), max_length=100, blank=True)
    list_price = models.DecimalField(_("list price"), null=True, blank=True, **MONEY)
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    paid_amount = models.DecimalField(_("paid"), null=True, blank=True, **MONEY)
    status_text = models.CharField(_("status as exported"), max_length=60, blank=True)
    refund_status = models.CharField(_("refund status"), max_length=60, blank=True)
    refund_amount = models.DecimalField(_("refunded"), null=True, blank=True, **MONEY)
    remark = models.CharField(_("remark"), max_length=255, blank=True)
    content_hash = models.CharField(max_length=32, blank=True)
    source_hash = models.CharField(max_length=32, blank=True, default="")  # as Order.source_hash

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [models.UniqueConstraint(fields=["line_key"], name="orderline_key_unique")]
        # Only the lines still waiting for their order are looked up by order number (to link them when it arrives).
        indexes = [
            models.Index(fields=["order_no"], condition=models.Q(order__isnull=True), name="orderline_orphan_order_no")
        ]


class Refund(models.Model):
    """A row of the 退款管理 export. A refund after completion (售后) does not change the order status."""

    refund_no = models.CharField(_("refund number"), max_length=40)
    order_no = models.CharField(_("order number"), max_length=32)
    order = models.ForeignKey(Order, related_name="refunds", null=True, blank=True, on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, related_name="refunds", null=True, blank=True, on_delete=models.SET_NULL)
    # The order line refunded, when the export tells which (see importing/rowwise/refunds.py `refund_lines_link`).
    line = models.ForeignKey(
        "OrderLine", related_name="refunds", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    title = models.CharField(_("item"), max_length=255, blank=True)
    product_code = models.CharField(_("product code"), max_length=100, blank=True)
    paid_amount = models.DecimalField(_("paid"), null=True, blank=True, **MONEY)
    refund_amount = models.DecimalField(_("refund"), null=True, blank=True, **MONEY)
    status_text = models.CharField(_("refund status"), max_length=60, blank=True)
    goods_status = models.CharField(_("goods status"), max_length=60, blank=True)
    needs_return = models.BooleanField(_("return required"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    description = models.TextField(_("explanation"), blank=True)
    phase = models.CharField(_("during or after sale"), max_length=20, blank=True)
    scope = models.CharField(_("full or partial"), max_length=20, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    return_tracking_no = models.CharField(_("return tracking number"), max_length=100, blank=True)
    return_company = models.CharField(_("return carrier"), max_length=60, blank=True)
    seller_note = models.TextField(_("seller note"), blank=True)
    content_hash = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.UniqueConstraint(fields=["refund_no"], name="refund_no_unique")]
        indexes = [models.Index(fields=["order_no"], name="refund_order_no")]


class TimelineEvent(models.Model):
    """One thing that happened to a customer. Every app writes here through customers.services.timeline.timeline_record,
    so the customer page shows imports, edits, messages, coupons, tickets and reviews in one list."""

    customer = models.ForeignKey(Customer, related_name="timeline", on_delete=models.CASCADE)
    kind = models.CharField(_("kind"), max_length=40)  # see customers/services/timeline.py for the known kinds
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    summary = models.CharField(_("summary"), max_length=300)
    data = models.JSONField(default=dict, blank=True)
    # Natural key of the effect, so that recording the same thing twice (a retried task) records it once.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="timeline_customer_when")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "dedupe_key"], name="timeline_dedupe_unique")
        ]


class CustomerMerge(models.Model):
    """A merge of `source` into `target`, with what moved, so that it can be undone."""

    source = models.ForeignKey(Customer, related_name="+", on_delete=models.CASCADE)
    target = models.ForeignKey(Customer, related_name="+", on_delete=models.CASCADE)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    merged_at = models.DateTimeField(default=timezone.now)
    moved = models.JSONField(default=dict)  # {"orders": [ids], "addresses": [ids], ...}
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-merged_at"]


class Segment(TimeStampedModel):
    """A saved, dynamic group of customers: `definition` is a tree of conditions (customers/segments/)."""

    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("definition"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]
        permissions = [("export_segment", _("Can export segment members"))]

    def __str__(self) -> str:
        return self.name


def private_storage():
    """The storage no URL serves (settings.STORAGES["private"]). A callable, so that the migration names this
    function rather than freezing one deployment's storage location."""
    return storages["private"]


class ImportFile(models.Model):
    """One uploaded export file of an import Job; its per-file summary lands in `summary`."""

    job = models.ForeignKey("crm.Job", related_name="import_files", on_delete=models.CASCADE)
    # Uploaded exports hold every buyer's name, phone and address: private storage, never under MEDIA_URL.
    file = models.FileField(upload_to="imports/%Y/%m/", storage=private_storage)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=20, blank=True)  # orders / lines / refunds, once detected
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("imported file")
        verbose_name_plural = _("imported files")


# --- Segmentation: the shop's settings, auto-tag rules and the points ledger (customers/segmentation/) ----------


class SegmentationSettings(models.Model):
    """The shop's segmentation settings: one row, read with `SegmentationSettings.load()`."""

    class RfmMode(models.TextChoices):
        QUINTILES = "quintiles", _("Quintiles of the shop's customers")
        THRESHOLDS = "thresholds", _("Thresholds set by the shop")

    class TierBasis(models.TextChoices):
        AMOUNT = "amount", _("Cumulative paid amount")
        ORDERS = "orders", _("Paid order count")

    class PointsExpiry(models.TextChoices):
        NEVER = "never", _("Never")
        MONTHS = "months", _("A number of months after the order was paid")
        YEAR_END = "year_end", _("At the end of the year after the year they were earned")

    rfm_mode = models.CharField(_("RFM scoring"), max_length=12, choices=RfmMode.choices, default=RfmMode.QUINTILES)
    # Four ascending thresholds each: R in days since the last paid order (within the 1st → 5), F in paid
    # orders and M in yuan (at least the 1st → 2 … at least the 4th → 5).
    rfm_r_days = models.JSONField(_("R thresholds (days)"), default=list, blank=True)
    rfm_f_orders = models.JSONField(_("F thresholds (orders)"), default=list, blank=True)
    rfm_m_amounts = models.JSONField(_("M thresholds (yuan)"), default=list, blank=True)
    # Bounded so that "now minus N days" stays a date the database and Python can hold (crm/bounds.py).
    new_days = models.PositiveIntegerField(_("new for (days after the first paid order)"), default=30,
                                           validators=[MaxValueValidator(MAX_DAYS)])
    dormant_days = models.PositiveIntegerField(_("dormant after (days without a paid order)"), default=180,
                                               validators=[MaxValueValidator(MAX_DAYS)])
    churned_days = models.PositiveIntegerField(_("churned after (days without a paid order)"), default=365,
                                               validators=[MaxValueValidator(MAX_DAYS)])
    tier_basis = models.CharField(_("tiers by"), max_length=8, choices=TierBasis.choices, default=TierBasis.AMOUNT)
    # Counted over the last N days (e.g. 365), or over the customer's whole history when empty. Upgrades and
    # the yearly review use the same count, so a customer the review moved down is not moved straight back up.
    tier_window_days = models.PositiveIntegerField(_("tiers count paid orders of the last (days)"), null=True,
                                                   blank=True, validators=[MaxValueValidator(MAX_DAYS)])
    points_per_yuan = models.DecimalField(_("points per yuan paid"), max_digits=6, decimal_places=2, default=1)
    points_expiry = models.CharField(
        _("points expire"), max_length=10, choices=PointsExpiry.choices, default=PointsExpiry.YEAR_END
    )
    points_expiry_months = models.PositiveSmallIntegerField(_("months until points expire"), default=12,
                                                            validators=[MaxValueValidator(MAX_DAYS // 30)])
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segmentation settings")
        verbose_name_plural = _("segmentation settings")

    def __str__(self) -> str:
        return str(_("Segmentation settings"))

    @classmethod
    def load(cls) -> "SegmentationSettings":
        settings_row, _created = cls.objects.get_or_create(pk=1)
        settings_row._use_defaults_for_out_of_range()
        return settings_row

    def _use_defaults_for_out_of_range(self) -> None:
        """A value saved before the bounds existed (churned after 999,999,999 days) would fail every refresh
        with an overflow: such a field falls back to its default here, in memory, until the shop saves the
        settings again (the form then offers the default)."""
        for name in ("new_days", "dormant_days", "churned_days", "tier_window_days", "points_expiry_months"):
            field = self._meta.get_field(name)
            try:
                field.run_validators(getattr(self, name))
            except ValidationError:
                logger.warning("segmentation settings: %s=%r is out of range, using the default", name,
                               getattr(self, name))
                setattr(self, name, field.get_default())
        for name, check in (("rfm_r_days", check_days), ("rfm_f_orders", check_count),
                            ("rfm_m_amounts", check_count)):
            try:
                for value in getattr(self, name) or []:
                    check(value)
            except (ValidationError, TypeError):
                logger.warning("segmentation settings: %s=%r is out of range, using the default", name,
                               getattr(self, name))
                setattr(self, name, [])


class AutoTagRule(models.Model):
    """Tags the customers a segment definition selects (e.g. bought 商家编码 X, spent over 1,000 yuan).
    Evaluated after each import and nightly; tags it added are removed when the customer no longer matches."""

    name = models.CharField(_("name"), max_length=80)
    tag = models.ForeignKey(Tag, verbose_name=_("tag"), related_name="auto_rules", on_delete=models.CASCADE)
    definition = models.JSONField(_("definition"), default=dict)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Set by the refresh when the stored definition no longer validates (saved before a bound existed) or its
    # query fails: the rule is skipped, not the refresh. Saving a valid definition clears both.
    broken_at = models.DateTimeField(_("broken since"), null=True, blank=True, editable=False)
    broken_reason = models.TextField(_("why it is broken"), blank=True, editable=False)

    class Meta:
        verbose_name = _("auto-tag rule")
        verbose_name_plural = _("auto-tag rules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PointsEntry(models.Model):
    """One line of the points ledger. Append-only: a correction is a new entry. The balance on Customer is
    the sum of these, updated in the same transaction as every insert."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned on an order")
        REVERSE = "reverse", _("Reversed on a refund")
        ADJUST = "adjust", _("Adjusted by hand")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")

    customer = models.ForeignKey(Customer, related_name="points_entries", on_delete=models.CASCADE)
    delta = models.IntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    order = models.ForeignKey(Order, null=True, blank=True, related_name="points_entries", on_delete=models.SET_NULL)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at", "-id"]
        default_permissions = ("add", "view")  # never changed or deleted
        constraints = [
            # A re-import or a retried task earns (or reverses) an order's points once.
            models.UniqueConstraint(fields=["order"], condition=models.Q(kind="earn"), name="points_earn_once"),
            models.UniqueConstraint(fields=["order"], condition=models.Q(kind="reverse"), name="points_reverse_once"),
        ]
        indexes = [models.Index(fields=["customer", "created_at"], name="points_customer_when")]
