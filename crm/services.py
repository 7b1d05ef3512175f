"""Writes to the shared models: job progress and the audit log."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import AuditEvent, Job


def job_create(*, kind: str, created_by=None, params: dict | None = None) -> Job:
    return Job.objects.create(kind=kind, created_by=created_by, params=params or {})


def job_claim(*, job_id: int) -> Job | None:
    """Move a queued job to running. Returns None when another worker already has it (or it is done)."""
    claimed = Job.objects.filter(id=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    return Job.objects.get(id=job_id) if claimed else None


def job_progress(*, job: Job, done: int, total: int | None = None, step: str = "") -> None:
    job.progress_done = done
    if total is not None:
        job.progress_total = total
    if step:
        job.step = step[:200]
    Job.objects.filter(id=job.id).update(
        progress_done=job.progress_done, progress_total=job.progress_total, step=job.step
    )


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
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        reason=reason,
        detail=detail or {},
    )
