"""Import jobs: the service and Celery task, the upload page, the job's result page, and the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Job
from customers.importing.jobs import import_job_execute
from customers.models import ImportFile, Order
from customers.services.jobs import import_job_create

from .importing_fixtures import ORDER_HEADER, SAMPLES, export_text, order_row

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def sample(name: str) -> SimpleUploadedFile:
    return upload(name.split("/")[-1], (SAMPLES / name).read_bytes())


def orders_csv(*rows) -> SimpleUploadedFile:
    return upload("ExportOrderList.csv", export_text(ORDER_HEADER, list(rows)).encode("gb18030"))


def test_creating_a_job_stores_the_files_and_queues_the_run_after_commit(manager, eager,
                                                                           django_capture_on_commit_callbacks):
    # Given two exports
    files = [sample("v2017/ExportOrderList202403311530.csv"), sample("v2017/ExportOrderDetailList202403311530.csv")]

    # When the job is created and the transaction commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_job_create(files=files, user=manager)

    # Then the files are stored, the task ran once (then the segmentation refresh it queued), and the job holds the
    # summary as its result
    assert len(callbacks) == 2
    job.refresh_from_db()
    assert job.kind == "import_orders" and job.status == Job.Status.SUCCEEDED
    assert [f["kind"] for f in job.result["files"]] == ["orders", "lines"]
    stored = list(ImportFile.objects.filter(job=job).order_by("id"))
    assert [f.original_name for f in stored] == ["ExportOrderList202403311530.csv",
                                                 "ExportOrderDetailList202403311530.csv"]
    assert stored[0].kind == "orders" and stored[0].summary["orders_created"] == 56 and len(stored[0].sha256) == 64
    assert Order.objects.count() == 56


def test_a_finished_job_queues_the_segmentation_refresh_of_its_customers_after_commit(
    manager, eager, django_capture_on_commit_callbacks
):
    # Given a queued job with one paid order
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(files=[orders_csv(order_row())], user=manager)

    # When the job runs, segmentation has not run yet inside the import
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert import_job_execute(job_id=job.id) == Job.Status.SUCCEEDED
    customer = Order.objects.get().customer
    assert customer.current_score.lifecycle_stage == ""
    assert "customer_ids" not in Job.objects.get(pk=job.pk).result

    # Then the queued follow-up refreshes the job's customers once it runs
    assert len(callbacks) == 1
    callbacks[0]()
    customer = Order.objects.get().customer
    assert customer.current_score.lifecycle_stage != ""


def test_running_a_job_twice_imports_once(manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(files=[orders_csv(order_row())], user=manager)

    first = import_job_execute(job_id=job.id)
    second = import_job_execute(job_id=job.id)

    assert first == Job.Status.SUCCEEDED and second is None
    assert Order.objects.count() == 1


def test_a_job_with_an_unreadable_file_ends_partly_done(manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(files=[orders_csv(order_row()), upload("x.csv", b"a,b\r\n1,2\r\n")], user=manager)

    assert import_job_execute(job_id=job.id) == Job.Status.PARTIAL
    job.refresh_from_db()
    assert job.result["files"][1]["status"] == "unreadable"


def test_the_upload_page_creates_a_job_and_redirects_to_its_page_which_shows_the_result(
    client_for, manager, eager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    assert client.get(reverse("customers:import")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:import"), {"files": [
            sample("v2017/ExportOrderList202403311530.csv"), sample("v2017/RefundExport202403311530.csv"),
        ]})

    job = Job.objects.get(kind="import_orders")
    assert response.status_code == 302 and response.url == reverse("job-detail", args=[job.pk])
    page = client.get(response.url).content.decode()
    assert 'id="import-result"' in page
    assert "ExportOrderList202403311530.csv" in page and "RefundExport202403311530.csv" in page
    assert "2.53564E+17" in page  # the error table lists the rejected row's value


def test_the_upload_page_rejects_other_file_types_and_an_empty_upload(client_for, manager):
    client = client_for(manager)

    wrong = client.post(reverse("customers:import"), {"files": [upload("notes.txt", b"hello")]})
    empty = client.post(reverse("customers:import"), {})

    assert wrong.status_code == 400 and "notes.txt" in wrong.content.decode()
    assert empty.status_code == 400 and 'id="upload-errors"' in empty.content.decode()
    assert not Job.objects.exists()


@pytest.mark.parametrize("persona, expected", [("manager", 200), ("staff", 200), ("agent", 403), ("outsider", 403)])
def test_only_roles_that_may_import_see_the_upload_page(client_for, request, persona, expected):
    user = request.getfixturevalue(persona)

    assert client_for(user).get(reverse("customers:import")).status_code == expected


def test_the_api_creates_a_job_from_a_multipart_upload_and_reports_status_and_result(
    api_client, manager, eager, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(manager)

    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post("/api/import-jobs/", {"files": [orders_csv(order_row())]}, format="multipart")

    assert created.status_code == 202
    assert created.data["status"] == "queued" and created.data["files"][0]["original_name"] == "ExportOrderList.csv"
    detail = api_client.get(f"/api/import-jobs/{created.data['id']}/")
    assert detail.status_code == 200 and detail.data["status"] == "succeeded" and detail.data["percent"] == 100
    assert detail.data["result"]["files"][0]["orders_created"] == 1
    listed = api_client.get("/api/import-jobs/")
    assert [job["id"] for job in listed.data["results"]] == [created.data["id"]]


def test_the_api_refuses_a_wrong_file_and_roles_without_the_import_permission(api_client, manager, agent):
    api_client.force_authenticate(manager)
    wrong = api_client.post("/api/import-jobs/", {"files": [upload("a.pdf", b"%PDF")]}, format="multipart")
    api_client.force_authenticate(agent)
    forbidden = api_client.get("/api/import-jobs/")

    assert wrong.status_code == 400 and "a.pdf" in str(wrong.data)
    assert forbidden.status_code == 403
