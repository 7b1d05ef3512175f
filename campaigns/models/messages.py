"""The one sending pipeline: every outgoing marketing or care message is a Message row.

A row is created once (`dedupe_key` is unique), dispatched by beat from the database, claimed by a worker with
SELECT ... FOR UPDATE SKIP LOCKED, marked SENDING with an attempt id before the provider call, and never sent
twice: a row found SENDING after a worker died is reconciled through the provider's status query or marked
UNKNOWN for a person to look at.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .campaigns import Channel


class Message(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (check by hand)")
        SKIPPED = "skipped", _("Skipped")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(
        "campaigns.Campaign", related_name="messages", null=True, blank=True, on_delete=models.CASCADE
    )
    # What created it when not a campaign ("care:birthday", ...): lets later apps reuse the pipeline.
    source = models.CharField(_("source"), max_length=40, blank=True)
    dedupe_key = models.CharField(max_length=120, unique=True)
    customer = models.ForeignKey("customers.Customer", related_name="messages", on_delete=models.CASCADE)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(_("to"), max_length=254)  # phone or email at preparation; never in task payloads
    subject = models.CharField(_("subject"), max_length=150, blank=True)
    body = models.TextField(_("text"))
    parts = models.PositiveSmallIntegerField(_("SMS parts"), default=1)
    is_marketing = models.BooleanField(_("marketing"), default=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(_("skipped because"), max_length=30, blank=True)
    due_at = models.DateTimeField(_("due at"), default=timezone.now)
    attempt_id = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    provider_message_id = models.CharField(_("provider id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sending_at = models.DateTimeField(_("handed to provider at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["customer", "sent_at"]),
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["provider_message_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk}"
