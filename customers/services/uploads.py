"""Uploaded order exports, deleted a while after their import: they hold buyers' contact details."""

from datetime import timedelta

from django.utils import timezone

from crm.models import Job
from customers.models import ImportFile

IMPORT_UPLOAD_RETENTION_DAYS = 30


def import_uploads_purge(*, older_than_days: int = IMPORT_UPLOAD_RETENTION_DAYS) -> int:
    """Delete the uploaded export files of imports finished more than `older_than_days` ago.

    The files hold buyers' names, phones and addresses; once imported they are only needed to look into a
    recent import. The ImportFile rows and their summaries stay. Returns how many files were deleted."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = ImportFile.objects.filter(job__status__in=Job.FINISHED, job__finished_at__lt=cutoff).exclude(file="")
    deleted = 0
    for upload in old.iterator():
        upload.file.delete(save=False)  # a file already gone from disk is fine: storage ignores it
        ImportFile.objects.filter(pk=upload.pk).update(file="")
        deleted += 1
    return deleted
