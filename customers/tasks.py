"""Celery entry points of the customers app. Thin: each takes ids (or nothing) and calls a service."""

from celery import shared_task

# --- Segmentation (customers/segmentation/) ----------------------------------------------------------


@shared_task
def segmentation_refresh_task(customer_ids: list[int] | None = None, job_id: int | None = None) -> dict:
    """RFM, stages, tiers, auto-tags and points after orders changed. Idempotent. After an import job
    (`job_id`), its outcome is recorded on that job."""
    if job_id is not None and customer_ids is not None:
        from .importing.jobs import import_job_segmentation_refresh

        return import_job_segmentation_refresh(job_id=job_id, customer_ids=customer_ids)
    from .segmentation.services import segmentation_refresh

    return segmentation_refresh(customer_ids=customer_ids)


@shared_task
def segmentation_nightly_task() -> dict:
    """Everything time alone changes: stages age, points expire, RFM and repurchase intervals move."""
    from .segmentation.services import segmentation_nightly

    return segmentation_nightly()


@shared_task
def tiers_yearly_review_task() -> int:
    """The explicit yearly review: the only automatic path by which a customer moves down a tier."""
    from .segmentation.tiers import tiers_yearly_review

    return tiers_yearly_review()


# --- Order-export import (customers/importing/) -------------------------------------------------------


@shared_task(bind=True, acks_late=True, max_retries=3)
def import_job_run(self, job_id: int) -> str | None:
    """Run the import Job `job_id` (queued by customers.services.jobs.import_job_create). Idempotent: the job is
    claimed with a conditional update, so a repeated delivery does nothing while a live worker has it, and a
    delivery after its worker died takes it over once its heartbeat is stale (importing again is safe)."""
    from crm.jobs import job_task_guard

    from .importing.jobs import import_job_execute

    job_task_guard(self, job_id=job_id)
    return import_job_execute(job_id=job_id)


@shared_task
def import_uploads_purge_task() -> int:
    from .services.uploads import import_uploads_purge

    return import_uploads_purge()


# --- Big exports of the customer list -------------------------------------------------------------


@shared_task(bind=True, acks_late=True, max_retries=3)
def customer_export_job_run(self, job_id: int) -> str | None:
    """Write the export Job `job_id` (queued by customers.services.jobs.customer_export_job_create). Idempotent, and
    taken over after a lost worker like the import job."""
    from crm.jobs import job_run, job_task_guard

    from .services.export import customer_export_work

    job_task_guard(self, job_id=job_id)
    return job_run(job_id=job_id, work=customer_export_work)


@shared_task
def customer_export_files_purge_task() -> int:
    from .services.export import customer_export_files_purge

    return customer_export_files_purge()
