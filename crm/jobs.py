"""Running a Job's work in a worker: the one way every kind of job is claimed, run and finished.

    @shared_task(bind=True, acks_late=True, max_retries=3)
    def customer_export_job_run(self, job_id):
        job_task_guard(self, job_id=job_id)
        return job_run(job_id=job_id, work=customer_export_work)

`work(job)` does the job, reporting with crm.services.job_progress (which is also the heartbeat), and returns
the result dict, or (status, result) to end otherwise than succeeded (a partly done import). A failure the shop
should read (JobFailed, a ValidationError, PermissionDenied) ends the job as failed with its message; anything
else too, with the exception's type, and is logged with its traceback. Claiming is a conditional update, so a
task delivered twice runs the work once (crm.services.job_claim).
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from .models import Job
from .services import job_claim, job_finish, job_running_elsewhere

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """Raised by a job's work to end it as failed, with a message for the job's page."""


def job_task_guard(task, *, job_id: int) -> None:
    """In a bound task: when a live worker runs the job now (a delivery repeated at once after a worker process
    died, or a duplicate), retry once a dead worker's heartbeat would have gone stale, when it can be taken over."""
    if job_running_elsewhere(job_id=job_id):
        raise task.retry(countdown=settings.HUIKE_JOB_STALE_AFTER_SECONDS + 5)


def job_run(*, job_id: int, work: Callable[[Job], dict | tuple[str, dict]]) -> str | None:
    """Claim the job and run `work(job)`; record how it ended. Returns the final status, or None when the job
    was not ours to run (another worker has it, or it is finished)."""
    job = job_claim(job_id=job_id)
    if job is None:
        return None
    try:
        outcome = work(job)
    except (JobFailed, ValidationError, PermissionDenied) as exc:
        message = " ".join(getattr(exc, "messages", None) or [str(exc)])
        job_finish(job=job, status=Job.Status.FAILED, error=message[:1000])
        return Job.Status.FAILED
    except Exception as exc:  # an unexpected failure still ends the job, with the reason for the page
        log.exception("%s job %s failed", job.kind, job_id)
        job_finish(job=job, status=Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:1000])
        return Job.Status.FAILED
    status, result = outcome if isinstance(outcome, tuple) else (Job.Status.SUCCEEDED, outcome)
    job_finish(job=job, status=status, result=result)
    return status
