"""Jobs queued from a request: the rows are written and the task is queued once they are committed.

The tasks (customers/tasks.py) call the other modules of this package; only this one imports the tasks, so
the dependency goes one way."""

import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import Job
from crm.services import job_create
from customers.models import ImportFile
from customers.tasks import customer_export_job_run, import_job_run

from .export import EXPORT_FORMATS, EXPORT_JOB_KIND


def customer_export_job_create(*, actor, filters: dict, file_format: str) -> Job:
    """Queue a big export as an "export_customers" Job. `filters` are the list's query parameters (lists by
    name), applied again by the worker; the export is written and logged there, under the requester's role."""
    if file_format not in EXPORT_FORMATS:
        raise ValidationError({"format": [_("Choose CSV or XLSX.")]})
    if not actor.has_perm("customers.export_customer"):
        raise PermissionDenied(_("Your role cannot export customers."))
    with transaction.atomic():
        job = job_create(kind=EXPORT_JOB_KIND, created_by=actor, params={"filter": filters, "format": file_format})
        customer_export_job_run.delay_on_commit(job.id)
    return job


def import_job_create(*, files: list, user) -> Job:
    """Store uploaded exports as the ImportFiles of a new "import_orders" Job and queue it once committed.
    The files are validated by customers.importing.forms (the form or the API serializer) before this is called."""
    with transaction.atomic():
        job = job_create(kind="import_orders", created_by=user, params={"files": [f.name for f in files]})
        for upload in files:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            ImportFile.objects.create(
                job=job, file=upload, original_name=upload.name[:255], size=upload.size, sha256=digest.hexdigest()
            )
        import_job_run.delay_on_commit(job.id)
    return job
