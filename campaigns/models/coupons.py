"""Coupon templates (what the shop created in the seller centre) and the coupons issued from them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 12, "decimal_places": 2}


class CouponTemplate(models.Model):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold", _("Spend threshold (满减)")
        AMOUNT = "amount", _("No-threshold amount off")
        DISCOUNT = "discount", _("Discount (折)")

    class Validity(models.TextChoices):
        FIXED = "fixed", _("Fixed dates")
        RELATIVE = "relative", _("Days from issue")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    threshold = models.DecimalField(_("spend at least"), null=True, blank=True, **MONEY)
    amount = models.DecimalField(_("amount off"), null=True, blank=True, **MONEY)
    # 9折 is stored as 9.0: the price the buyer pays, in tenths.
    discount = models.DecimalField(_("discount (折)"), max_digits=3, decimal_places=1, null=True, blank=True)
    validity = models.CharField(_("validity"), max_length=10, choices=Validity.choices, default=Validity.RELATIVE)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("valid for days"), null=True, blank=True)
    per_customer_limit = models.PositiveIntegerField(_("per customer"), default=1)
    total_quantity = models.PositiveIntegerField(_("total quantity"), null=True, blank=True)  # None: unlimited
    taobao_coupon_id = models.CharField(_("Taobao coupon id"), max_length=64, blank=True)
    claim_link = models.URLField(_("claim link"), max_length=500, blank=True)
    match_orders = models.BooleanField(
        _("match redemptions from imported orders"),
        default=False,
        help_text=_("A paid order within validity that meets the threshold marks the coupon redeemed."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        required = {
            self.Kind.THRESHOLD: ("threshold", "amount"),
            self.Kind.AMOUNT: ("amount",),
            self.Kind.DISCOUNT: ("discount",),
        }.get(self.kind, ())
        errors = {name: _("Required for this kind of coupon.") for name in required if getattr(self, name) is None}
        if self.validity == self.Validity.FIXED and not (self.valid_from and self.valid_until):
            errors["valid_until"] = _("Fixed validity needs both dates.")
        if self.validity == self.Validity.RELATIVE and not self.valid_days:
            errors["valid_days"] = _("Say for how many days a coupon is valid.")
        if errors:
            raise ValidationError(errors)


class IssuedCoupon(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    class RedeemedBy(models.TextChoices):
        MANUAL = "manual", _("Marked by hand")
        IMPORT = "import", _("Redemption import")
        ORDER = "order", _("Matched from an order")

    template = models.ForeignKey(CouponTemplate, related_name="coupons", on_delete=models.PROTECT)
    customer = models.ForeignKey("customers.Customer", related_name="coupons", on_delete=models.CASCADE)
    code = models.CharField(_("code"), max_length=24, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    campaign = models.ForeignKey(
        "campaigns.Campaign", related_name="coupons", null=True, blank=True, on_delete=models.SET_NULL
    )
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    redeemed_at = models.DateTimeField(_("redeemed at"), null=True, blank=True)
    redeemed_by = models.CharField(_("redemption source"), max_length=10, choices=RedeemedBy.choices, blank=True)
    redeemed_order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False, related_name="+"
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["template", "status"]),
            models.Index(fields=["status", "valid_until"]),
        ]

    def __str__(self) -> str:
        return self.code
