"""A big customer export runs as a Job: the file waits in private storage, the job page offers it to the manager
who asked, and the export is logged with who, when, the filter and the row count."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone
from openpyxl import load_workbook

from crm.models import AuditEvent, Job
from customers.audit import CustomerAudit
from customers.services.export import customer_export_files_purge
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory

from ..workers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.HUIKE_EXPORT_IN_REQUEST_MAX_ROWS = 2
    return settings


def run_export(client, django_capture_on_commit_callbacks, **params):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/customers/export/", params)
    return response


def test_an_export_over_the_limit_becomes_a_job_with_a_download(client_for, manager, eager, small_limit,
                                                                 django_capture_on_commit_callbacks):
    # Given more customers in the filter than an export in the request may hold
    for _ in range(3):
        CustomerFactory(city="宁波市")
    CustomerFactory(city="杭州市")

    # When the manager exports the filtered list
    response = run_export(client_for(manager), django_capture_on_commit_callbacks, city="宁波市", format="csv")

    # Then a job wrote the file, the job page offers it, and the export is logged with its filter and count
    job = Job.objects.get(kind="export_customers")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["rows"] == 3 and job.created_by == manager
    assert storages["private"].exists(job.result["file"])
    page = client_for(manager).get(f"/jobs/{job.pk}/").content.decode()
    assert f"/customers/exports/{job.pk}/download/" in page and "客户导出" in page
    audit = AuditEvent.objects.get(action=CustomerAudit.EXPORT)
    assert audit.actor == manager
    assert audit.detail == {"format": "csv", "filter": {"city": ["宁波市"]}, "rows": 3, "job_id": job.pk}

    download = client_for(manager).get(f"/customers/exports/{job.pk}/download/")
    assert download.status_code == 200 and download["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1 + 3


def test_an_export_within_the_limit_is_still_the_response(client_for, manager, small_limit):
    CustomerFactory()
    CustomerFactory()

    response = client_for(manager).get("/customers/export/", {"format": "csv"})

    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert not Job.objects.exists()


def test_an_xlsx_export_job_writes_a_workbook(client_for, manager, eager, small_limit,
                                              django_capture_on_commit_callbacks):
    for _ in range(3):
        CustomerFactory()

    run_export(client_for(manager), django_capture_on_commit_callbacks, format="xlsx")

    job = Job.objects.get(kind="export_customers")
    download = client_for(manager).get(f"/customers/exports/{job.pk}/download/")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 3


def test_only_the_manager_who_asked_gets_the_file(client, client_for, manager, staff, eager, small_limit,
                                                  django_capture_on_commit_callbacks):
    for _ in range(3):
        CustomerFactory()
    run_export(client_for(manager), django_capture_on_commit_callbacks, format="csv")
    job = Job.objects.get(kind="export_customers")
    url = f"/customers/exports/{job.pk}/download/"
    other_manager = UserFactory(username="other-manager")
    other_manager.groups.set(manager.groups.all())

    assert client_for(other_manager).get(url).status_code == 404
    assert client_for(staff).get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_staff_cannot_start_an_export_job(client_for, staff, small_limit):
    for _ in range(3):
        CustomerFactory()

    assert client_for(staff).get("/customers/export/", {"format": "csv"}).status_code == 403
    assert not Job.objects.exists()


def test_export_files_are_deleted_after_a_week_and_the_job_says_so(client_for, manager, eager, small_limit,
                                                                   django_capture_on_commit_callbacks):
    for _ in range(3):
        CustomerFactory()
    run_export(client_for(manager), django_capture_on_commit_callbacks, format="csv")
    job = Job.objects.get(kind="export_customers")
    name = job.result["file"]
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=8))

    assert customer_export_files_purge() == 1

    job.refresh_from_db()
    assert not storages["private"].exists(name)
    assert job.result["file_deleted"] and "file" not in job.result
    assert client_for(manager).get(f"/customers/exports/{job.pk}/download/").status_code == 404
    assert customer_export_files_purge() == 0


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_the_export_through_redis(manager, worker_queue, django_capture_on_commit_callbacks):
    """The task is registered, reaches a worker process through Redis, and the web side finds its file."""


    from customers.services.jobs import customer_export_job_create
    from customers.tasks import customer_export_job_run

    for _ in range(3):
        CustomerFactory()
    with django_capture_on_commit_callbacks(execute=False):  # held back: sent to the test worker's queue instead
        job = customer_export_job_create(actor=manager, filters={}, file_format="csv")
    customer_export_job_run.apply_async(args=[job.id], queue=worker_queue)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 60, "the export job to finish")

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["rows"] == 3
    with storages["private"].open(job.result["file"], "rb") as written:
        assert len(written.read().decode("utf-8-sig").strip().splitlines()) == 1 + 3
