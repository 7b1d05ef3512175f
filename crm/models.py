"""Models every app shares: timestamps, the Job that tracks long work, and the audit log."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .registry import audit_action_label


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class JobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING])

    def stale(self, *, older_than):
        """Running jobs whose worker has not been heard of since `older_than` (a datetime): it probably died.
        A job claimed before heartbeats existed falls back to its start time."""
        last_sign_of_life = Coalesce("heartbeat_at", "started_at", "created_at")
        return self.filter(status=Job.Status.RUNNING).alias(last_sign_of_life=last_sign_of_life).filter(
            last_sign_of_life__lt=older_than
        )

    def visible_to(self, user):
        if user.has_perm("crm.view_all_jobs"):
            return self
        return self.filter(created_by=user)


# What each kind of job is called in the UI. Apps add theirs in AppConfig.ready() with register_job_kind.
JOB_KIND_LABELS: dict[str, str] = {}


def register_job_kind(kind: str, label) -> None:
    JOB_KIND_LABELS[kind] = label


class Job(TimeStampedModel):
    """Long work run by a worker (an import, an export, a recompute), with progress the UI polls."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partly done")
        FAILED = "failed", _("Failed")

    # Which status may follow which; set_status() refuses anything else.
    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.RUNNING, Status.SUCCEEDED, Status.PARTIAL, Status.FAILED},
        Status.SUCCEEDED: set(),
        Status.PARTIAL: set(),
        Status.FAILED: set(),
    }
    FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED)

    kind = models.CharField(_("kind"), max_length=40)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    progress_done = models.PositiveBigIntegerField(_("done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("total"), default=0)
    step = models.CharField(_("current step"), max_length=200, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # The worker refreshes this while it runs (every progress update, and long steps touch it): a running job
    # whose heartbeat is old lost its worker, and a redelivered task may claim it again (crm.services.job_claim).
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    # How many times a worker has claimed the job: 1 normally, more when it was taken over after a worker died.
    claims = models.PositiveSmallIntegerField(_("attempts"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]
        permissions = [("view_all_jobs", _("Can see every user's jobs"))]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def kind_label(self) -> str:
        return str(JOB_KIND_LABELS.get(self.kind, self.kind))

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.progress_total:
            return 0
        return min(99, int(100 * self.progress_done / self.progress_total))

    def set_status(self, status: str) -> None:
        if status not in self.TRANSITIONS[self.status]:
            raise ValidationError(
                _("A job cannot go from %(old)s to %(new)s.") % {"old": self.status, "new": status}
            )
        self.status = status
        now = timezone.now()
        if status == self.Status.RUNNING and self.started_at is None:
            self.started_at = now
        if status in self.FINISHED:
            self.finished_at = now


class AuditEvent(models.Model):
    """Who did what to personal data: exports, reveals, merges. Append-only."""

    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    # A code an app registered with its label (crm.registry.register_audit_actions): a new action needs no
    # migration. audit_record refuses a code nobody registered.
    action = models.CharField(_("action"), max_length=40, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}:{self.object_id}"

    @property
    def action_label(self) -> str:
        return audit_action_label(self.action)


class Area(models.Model):
    """Holds the permission that opens the kernel's dashboard page; no table behind it. Each app holds its own
    area's permission the same way (e.g. campaigns.Area, "campaigns.access")."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("access_dashboard", _("Can open the dashboards")),
        ]
