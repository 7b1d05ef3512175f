import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from crm.models import Job
from customers.models import ImportFile
from customers.services.uploads import import_uploads_purge
from tests.crm.factories import JobFactory

pytestmark = pytest.mark.django_db


def _upload(*, finished_days_ago: int) -> ImportFile:
    job = JobFactory(kind="import_orders", status=Job.Status.SUCCEEDED,
                     finished_at=timezone.now() - timedelta(days=finished_days_ago))
    upload = ImportFile(job=job, original_name="ExportOrderList.csv")
    upload.file.save("ExportOrderList.csv", ContentFile("订单编号\n".encode("gb18030")), save=True)
    return upload


def test_uploads_of_old_imports_are_deleted_and_their_summaries_kept():
    old, recent = _upload(finished_days_ago=31), _upload(finished_days_ago=2)
    old_path = old.file.path

    deleted = import_uploads_purge(older_than_days=30)

    old.refresh_from_db()
    recent.refresh_from_db()
    assert deleted == 1
    assert not old.file and old.original_name == "ExportOrderList.csv"
    assert not os.path.exists(old_path)
    assert recent.file and os.path.exists(recent.file.path)


def test_purging_twice_deletes_nothing_more():
    _upload(finished_days_ago=40)
    import_uploads_purge()

    assert import_uploads_purge() == 0
