"""Writes to the shared models: job progress and the audit log."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import AuditEvent, Job
from .registry import registry

log = logging.getLogger(__name__)


def job_create(*, kind: str, created_by=None, params: dict | None = None) -> Job:
    return Job.objects.create(kind=kind, created_by=created_by, params=params or {})


def job_stale_before() -> datetime:
    """A running job with no heartbeat since this moment has lost its worker."""
    return timezone.now() - timedelta(seconds=settings.HUIKE_JOB_STALE_AFTER_SECONDS)


def job_claim(*, job_id: int) -> Job | None:
    """Move a queued job to running, or take over a running one whose worker died (stale heartbeat, fewer than
    HUIKE_JOB_MAX_CLAIMS attempts). Returns None when the job is not ours to run: a live worker has it, or it
    is done. One conditional UPDATE, so two workers can never both claim it."""
    now = timezone.now()
    taken_over = Job.objects.stale(older_than=job_stale_before()).filter(claims__lt=settings.HUIKE_JOB_MAX_CLAIMS)
    claimable = Q(status=Job.Status.QUEUED) | Q(id__in=taken_over.values("id"))
    claimed = Job.objects.filter(claimable, id=job_id).update(
        status=Job.Status.RUNNING,
        started_at=Coalesce("started_at", Value(now)),
        heartbeat_at=now,
        claims=F("claims") + 1,
    )
    if not claimed:
        return None
    job = Job.objects.get(id=job_id)
    if job.claims > 1:
        log.warning("job %s taken over after its worker was lost (attempt %s)", job.id, job.claims)
    return job


def job_running_elsewhere(*, job_id: int) -> bool:
    """True when a live worker runs the job now (running, fresh heartbeat). A task redelivered at once after
    its worker process died finds its job like that, and should come back once the heartbeat has gone stale."""
    return (
        Job.objects.filter(id=job_id, status=Job.Status.RUNNING)
        .exclude(id__in=Job.objects.stale(older_than=job_stale_before()).values("id"))
        .exists()
    )


def job_progress(*, job: Job, done: int, total: int | None = None, step: str = "") -> None:
    """Record progress; it is also the job's heartbeat."""
    job.progress_done = done
    if total is not None:
        job.progress_total = total
    if step:
        job.step = step[:200]
    job.heartbeat_at = timezone.now()
    Job.objects.filter(id=job.id).update(
        progress_done=job.progress_done, progress_total=job.progress_total, step=job.step,
        heartbeat_at=job.heartbeat_at,
    )


def job_heartbeat(*, job: Job) -> None:
    """Tell the world the worker is alive, for a long step that reports no progress (call it every few minutes
    at most, well within HUIKE_JOB_STALE_AFTER_SECONDS)."""
    job.heartbeat_at = timezone.now()
    Job.objects.filter(id=job.id, status=Job.Status.RUNNING).update(heartbeat_at=job.heartbeat_at)


def jobs_fail_abandoned() -> list[int]:
    """Fail the running jobs whose worker died and that nobody took over: no heartbeat for
    HUIKE_JOB_ABANDONED_AFTER_SECONDS, or stale after HUIKE_JOB_MAX_CLAIMS attempts (a job that may itself kill
    its worker is not tried forever). The reason goes into the job's error and result. Returns their ids."""
    abandoned_before = timezone.now() - timedelta(seconds=settings.HUIKE_JOB_ABANDONED_AFTER_SECONDS)
    candidates = Job.objects.stale(older_than=abandoned_before) | Job.objects.stale(
        older_than=job_stale_before()
    ).filter(claims__gte=settings.HUIKE_JOB_MAX_CLAIMS)
    failed = []
    for job_id in candidates.values_list("id", flat=True):
        if _job_fail_if_still_abandoned(job_id=job_id, abandoned_before=abandoned_before):
            failed.append(job_id)
    return failed


@transaction.atomic
def _job_fail_if_still_abandoned(*, job_id: int, abandoned_before: datetime) -> bool:
    # Checked again under the row lock: a worker may have taken it over or sent a heartbeat meanwhile.
    job = Job.objects.select_for_update().filter(id=job_id).first()
    if job is None or job.status != Job.Status.RUNNING:
        return False
    last_heartbeat = job.heartbeat_at or job.started_at or job.created_at
    out_of_attempts = job.claims >= settings.HUIKE_JOB_MAX_CLAIMS and last_heartbeat < job_stale_before()
    if not (last_heartbeat < abandoned_before or out_of_attempts):
        return False
    with translation.override(settings.LANGUAGE_CODE):  # the error is shown as stored, in the shop's language
        job.error = str(
            _("The worker running this job stopped (last sign of life %(when)s) and no worker took the job over "
              "after %(attempts)s attempt(s). Start it again: running it again is safe.")
            % {"when": timezone.localtime(last_heartbeat).strftime("%Y-%m-%d %H:%M:%S"), "attempts": job.claims}
        )
    job.result = {**job.result, "failure": "worker_lost", "last_heartbeat": last_heartbeat.isoformat(),
                  "attempts": job.claims}
    job.set_status(Job.Status.FAILED)
    job.save()
    log.warning("job %s failed: its worker was lost (last heartbeat %s)", job.id, last_heartbeat)
    return True


@transaction.atomic
def job_finish(*, job: Job, status: str, result: dict[str, Any] | None = None, error: str = "") -> Job:
    job = Job.objects.select_for_update().get(id=job.id)
    job.set_status(status)
    if result is not None:
        job.result = result
    job.error = error
    job.save()
    return job


def audit_record(
    *, actor, action: str, object_type: str = "", object_id: str = "", reason: str = "", detail: dict | None = None
) -> AuditEvent:
    if action not in registry.audit_actions:
        # A typo here would write an event no filter or label knows; fail loudly in development and tests.
        raise ValueError(f"Unknown audit action {action!r}: register it with crm.registry.register_audit_actions.")
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        detail=detail or {},
    )


def api_token_revoke(*, user, actor, reason: str) -> bool:
    """Delete `user`'s API token (they sign in again at POST /api/token/ for a new one). Audited; False when
    they had none. `reason`: revoked_by_user, revoked_by_superuser, password_changed, deactivated."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        deleted, _rows = Token.objects.filter(user=user).delete()
        if deleted:
            audit_record(actor=actor, action="token_revoke", object_type="user", object_id=user.pk,
                         reason=reason)
    return bool(deleted)
