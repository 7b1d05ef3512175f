"""A campaign: a message (and optionally a coupon) to a segment, approved by a manager, with a holdout group."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    TASK = "task", _("Wangwang/Qianniu task list")


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Pending approval")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    # Every move a campaign may make; services go through `transition()`, which refuses the rest.
    TRANSITIONS = {
        Status.DRAFT: {Status.PENDING, Status.CANCELLED},
        Status.PENDING: {Status.DRAFT, Status.SCHEDULED, Status.CANCELLED},  # back to draft = rejected
        Status.SCHEDULED: {Status.SENDING, Status.PAUSED, Status.CANCELLED},
        Status.SENDING: {Status.PAUSED, Status.DONE, Status.CANCELLED},
        Status.PAUSED: {Status.SCHEDULED, Status.SENDING, Status.CANCELLED},
        Status.DONE: set(),
        Status.CANCELLED: set(),
    }

    name = models.CharField(_("name"), max_length=100)
    segment = models.ForeignKey(
        "customers.Segment", verbose_name=_("target segment"), null=True, on_delete=models.SET_NULL
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.SMS)
    subject = models.CharField(_("email subject"), max_length=150, blank=True)
    body = models.TextField(_("message template"))
    coupon_template = models.ForeignKey(
        "campaigns.CouponTemplate", verbose_name=_("coupon"), null=True, blank=True, on_delete=models.PROTECT
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)  # None: as soon as approved
    holdout_percent = models.PositiveSmallIntegerField(_("holdout group %"), default=10)
    conversion_days = models.PositiveSmallIntegerField(_("conversion window (days)"), default=7)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Exclusions counted by reason at launch: {"opted_out": 3, "no_consent": 10, ...}
    exclusions = models.JSONField(_("excluded by reason"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="+", null=True, blank=True, on_delete=models.SET_NULL
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="+", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_campaign", _("Can approve campaigns")),
            ("export_campaign", _("Can export campaign recipients")),
        ]

    def __str__(self) -> str:
        return self.name

    def transition(self, status: str) -> None:
        """Move to `status` or raise ValidationError; the caller saves and audits."""
        if status not in self.TRANSITIONS[self.status]:
            raise ValidationError(
                _("A campaign cannot go from %(old)s to %(new)s.")
                % {"old": self.get_status_display(), "new": self.Status(status).label}
            )
        self.status = status


class CampaignRecipient(models.Model):
    """Who the campaign targeted at launch: the segment snapshot, each customer either messaged, held out
    (the control group, chosen at random and stored so results can be compared) or excluded with a reason."""

    campaign = models.ForeignKey(Campaign, related_name="recipients", on_delete=models.CASCADE)
    customer = models.ForeignKey("customers.Customer", related_name="+", on_delete=models.CASCADE)
    is_holdout = models.BooleanField(_("holdout"), default=False)
    excluded_reason = models.CharField(_("excluded because"), max_length=30, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_recipient_once"),
        ]
        indexes = [models.Index(fields=["customer"])]
