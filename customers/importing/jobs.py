"""Running an import Job: the uploaded ImportFiles of the job, through import_files, into job.result."""

import logging
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

from django.db import transaction

from crm.jobs import job_run
from crm.models import Job
from crm.services import job_progress

from .runner import import_files

log = logging.getLogger(__name__)

KIND = "import_orders"
FINAL_STATUS = {"succeeded": Job.Status.SUCCEEDED, "partial": Job.Status.PARTIAL, "failed": Job.Status.FAILED}


def import_job_execute(*, job_id: int) -> str | None:
    """Claim the queued import job `job_id` and run it (crm.jobs.job_run). Returns the final status, or None
    when the job was not ours to run (another worker has it, or it already finished): running a task twice
    imports once. The segmentation refresh of the customers that landed follows in its own task."""
    landed: list[int] = []
    status = job_run(job_id=job_id, work=lambda job: _import_work(job, landed))
    if landed:  # segmentation follows in its own task, so the job's import ends as soon as the data landed
        from customers.tasks import segmentation_refresh_task

        segmentation_refresh_task.delay_on_commit(customer_ids=landed, job_id=job_id)
    return status


def _import_work(job: Job, landed: list[int]) -> tuple[str, dict]:
    uploads = list(job.import_files.order_by("id"))
    progress = FilesProgress(job, [upload.original_name for upload in uploads])
    job_progress(job=job, done=0, total=sum(u.size for u in uploads) or 1, step="")
    with ExitStack() as stack:
        paths = [(_local_path(upload, stack), upload.original_name) for upload in uploads]
        summary = import_files(paths, job=job, progress=progress)
    for upload, entry in zip(uploads, summary["files"], strict=True):
        upload.kind = entry["kind"]
        upload.summary = entry
        upload.save(update_fields=["kind", "summary"])
    customer_ids = summary.pop("customer_ids")
    if customer_ids:  # its outcome is recorded here by the task (import_job_segmentation_refresh)
        summary["segmentation"] = {"status": "queued", "customers": len(customer_ids), "error": ""}
        landed.extend(customer_ids)
    return FINAL_STATUS[summary["status"]], summary


class FilesProgress:
    """The import's progress callback for its job: bytes read of all files (the page shows them in MB: the
    params say the unit), and each file's state in job.result["files_progress"] while the job runs, waiting ->
    importing -> read, in the order they are imported (orders first). The final result replaces it."""

    def __init__(self, job: Job, names: list[str]) -> None:
        self.job = job
        self.files = [{"file": name, "state": "waiting"} for name in names]
        Job.objects.filter(id=job.id).update(
            params={**job.params, "progress_unit": "bytes"}, result={"files_progress": self.files}
        )

    def __call__(self, done: int, total: int, step: str) -> None:
        current = next((f for f in self.files if f["file"] == step and f["state"] != "read"), None)
        if current is not None and current["state"] != "importing":  # a new file: the one before it is read
            for entry in self.files:
                if entry["state"] == "importing":
                    entry["state"] = "read"
            current["state"] = "importing"
            Job.objects.filter(id=self.job.id, status=Job.Status.RUNNING).update(
                result={"files_progress": self.files}
            )
        job_progress(job=self.job, done=done, total=total, step=step)


def import_job_segmentation_refresh(*, job_id: int, customer_ids: list[int]) -> dict:
    """The segmentation refresh after the import job `job_id`, its outcome recorded in the job's
    result["segmentation"] (queued -> running -> succeeded or failed with the error), which the job page shows:
    a failed refresh used to leave customers without points or tier while the job said succeeded. A failure is
    raised again after it is recorded, for the worker's log."""
    from customers.segmentation.services import segmentation_refresh

    _segmentation_record(job_id=job_id, status="running")
    try:
        result = segmentation_refresh(customer_ids=customer_ids)
    except Exception as exc:
        log.exception("the segmentation refresh after import job %s failed", job_id)
        _segmentation_record(job_id=job_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:1000])
        raise
    _segmentation_record(job_id=job_id, status="succeeded")
    return result


@transaction.atomic
def _segmentation_record(*, job_id: int, status: str, error: str = "") -> None:
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:  # deleted meanwhile: nothing to tell
        return
    job.result = {**job.result, "segmentation": {**job.result.get("segmentation", {}), "status": status,
                                                  "error": error}}
    job.save(update_fields=["result", "updated_at"])


def _local_path(upload, stack: ExitStack) -> Path:
    """A path on local disk for the stored upload (a temporary copy when the storage is remote)."""
    try:
        return Path(upload.file.path)
    except NotImplementedError:
        suffix = Path(upload.original_name).suffix
        temp = stack.enter_context(tempfile.NamedTemporaryFile(suffix=suffix))  # noqa: SIM115 closed by the stack
        with upload.file.open("rb") as source:
            shutil.copyfileobj(source, temp)
        temp.flush()
        return Path(temp.name)
