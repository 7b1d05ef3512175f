from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .models import Job

JOB_RETENTION_DAYS = 90


@shared_task
def prune_finished_jobs() -> int:
    cutoff = timezone.now() - timedelta(days=JOB_RETENTION_DAYS)
    deleted, _ = Job.objects.filter(status__in=Job.FINISHED, finished_at__lt=cutoff).delete()
    return deleted


@shared_task
def jobs_fail_abandoned() -> list[int]:
    """Fail the running jobs whose worker died and that no redelivered task took over (every 5 minutes)."""
    from .services import jobs_fail_abandoned as fail_abandoned

    return fail_abandoned()


@shared_task
def ping(value: str) -> str:
    """Round trip used by /healthz and the broker tests: proves a worker is consuming."""
    return value
