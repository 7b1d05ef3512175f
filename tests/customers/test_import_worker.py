"""A real Celery worker, reached through Redis, runs an import job against the test database."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from crm.models import Job
from customers.models import Order
from customers.services import import_job_create
from customers.tasks import import_job_run

from .importing_fixtures import SAMPLES

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue():
    """A worker on a queue of its own, connected to the test database, stopped after the test."""
    queue = f"test-import-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "DJANGO_SETTINGS_MODULE": "crm.settings.test"}
    process = subprocess.Popen(  # noqa: S603 our own interpreter
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "-Q", queue, "-c", "1", "-P", "solo",
         "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=settings.BASE_DIR, env=env,
    )
    yield queue
    process.terminate()
    process.wait(timeout=30)


def test_a_worker_runs_an_import_job_sent_through_redis(worker_queue, manager, django_capture_on_commit_callbacks):
    # Given an import job whose automatic enqueue we hold back, to send it to the test worker's queue instead
    data = (SAMPLES / "v2023/ExportOrderList202403311530.csv").read_bytes()
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(files=[SimpleUploadedFile("ExportOrderList.csv", data)], user=manager)

    # When the task goes through Redis to the worker (twice: a repeated delivery must not import twice)
    import_job_run.apply_async(args=[job.id], queue=worker_queue)
    import_job_run.apply_async(args=[job.id], queue=worker_queue)

    # Then the job finishes with the summary as its result
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(0.3)
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["files"][0]["orders_created"] == 56
    assert Order.objects.count() == 56
