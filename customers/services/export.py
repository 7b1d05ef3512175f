"""The customer export: written in the request, or as the work of a Job for a big one; old files purged."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.storage import storages
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Job
from crm.services import audit_record, job_progress
from customers.audit import CustomerAudit
from customers.resources import CustomerResource, write_csv, write_xlsx
from customers.selectors import customer_filter

EXPORT_FORMATS = ("csv", "xlsx")


EXPORT_JOB_KIND = "export_customers"
EXPORT_FILE_RETENTION_DAYS = 7


def customer_export(*, actor, queryset, filters: dict, file_format: str, progress=None, job_id: int | None = None):
    """Write the customers of `queryset` (the list's current filter) to a CSV or XLSX file and log who
    exported what: the filter and the row count land in the audit trail. Contact details are raw only for a
    role that may see them. Returns (file, row count). `progress(rows_written)` is called every few thousand rows."""
    if file_format not in EXPORT_FORMATS:
        raise ValidationError({"format": [_("Choose CSV or XLSX.")]})
    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied(_("Your role cannot export customers."))
    resource = CustomerResource(mask_contact=not actor.has_perm("customers.view_pii"))
    writer = write_csv if file_format == "csv" else write_xlsx
    out, count = writer(resource, queryset, progress=progress)
    detail = {"format": file_format, "filter": filters, "rows": count}
    if job_id is not None:
        detail["job_id"] = job_id
    audit_record(actor=actor, action=CustomerAudit.EXPORT, object_type="customer", detail=detail)
    return out, count


def customer_export_needs_job(*, queryset) -> bool:
    """True when the export is too big to write within the request (HUIKE_EXPORT_IN_REQUEST_MAX_ROWS): counted
    up to the limit only, so asking costs a bounded read even at a million customers."""
    limit = settings.HUIKE_EXPORT_IN_REQUEST_MAX_ROWS
    return queryset.order_by()[: limit + 1].count() > limit


def customer_export_work(job: Job) -> dict:
    """The work of an export job (run by crm.jobs.job_run): write the file to private storage (never served by
    URL; downloaded through customers.views.customer_export_download) and return its name and row count. A run
    after a lost worker writes the file again (and logs the export once, when it completes)."""
    params = QueryDict(mutable=True)
    for name, values in job.params["filter"].items():
        params.setlist(name, values)
    file_format = job.params["format"]
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise PermissionDenied(_("The person who asked for this export can no longer export."))
    filterset = customer_filter(params=params, user=actor)
    if not filterset.is_valid():
        raise ValidationError(_("The filter of this export is no longer valid."))
    total = filterset.qs.count()
    job_progress(job=job, done=0, total=total or 1, step=str(_("Writing the file")))
    out, count = customer_export(
        actor=actor, queryset=filterset.qs, filters=job.params["filter"], file_format=file_format,
        job_id=job.pk, progress=lambda done: job_progress(job=job, done=done, total=max(total, done)),
    )
    with out:
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        name = storages["private"].save(f"exports/customers-{job.pk}-{stamp}.{file_format}", File(out))
    return {"file": name, "rows": count, "format": file_format, "filter": job.params["filter"]}


def customer_export_files_purge(*, older_than_days: int = EXPORT_FILE_RETENTION_DAYS) -> int:
    """Delete the files of exports finished more than `older_than_days` ago: they hold the shop's customers, and
    a manager who needs one again runs the export again. The job and its audit event stay."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted = 0
    for job in Job.objects.filter(kind=EXPORT_JOB_KIND, finished_at__lt=cutoff, result__has_key="file"):
        storages["private"].delete(job.result["file"])
        job.result = {key: value for key, value in job.result.items() if key != "file"} | {"file_deleted": True}
        job.save(update_fields=["result", "updated_at"])
        deleted += 1
    return deleted
