"""A real Celery worker, reached through Redis, runs an import job against the test database."""

import os
import signal
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from crm.models import Job
from customers.models import Order, OrderLine
from customers.services.jobs import import_job_create
from customers.tasks import import_job_run

from ..workers import wait_for, worker_start, worker_stop
from .importing_fixtures import SAMPLES

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_worker_runs_an_import_job_sent_through_redis(worker_queue, manager, django_capture_on_commit_callbacks):
    # Given an import job whose automatic enqueue we hold back, to send it to the test worker's queue instead
    data = (SAMPLES / "v2023/ExportOrderList202403311530.csv").read_bytes()
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(files=[SimpleUploadedFile("ExportOrderList.csv", data)], user=manager)

    # When the task goes through Redis to the worker (twice: a repeated delivery must not import twice)
    import_job_run.apply_async(args=[job.id], queue=worker_queue)
    import_job_run.apply_async(args=[job.id], queue=worker_queue)

    # Then the job finishes with the summary as its result
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 60, "the job to finish")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["files"][0]["orders_created"] == 56
    assert Order.objects.count() == 56


def _pool_children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def _order_import_job(manager, django_capture_on_commit_callbacks) -> Job:
    data = (SAMPLES / "v2023/ExportOrderList202403311530.csv").read_bytes()
    with django_capture_on_commit_callbacks(execute=False):  # held back: sent to the test worker's queue instead
        return import_job_create(files=[SimpleUploadedFile("ExportOrderList.csv", data)], user=manager)


def test_an_import_whose_worker_process_was_killed_is_taken_over_and_finishes(manager,
                                                                              django_capture_on_commit_callbacks):
    """The worker's pool process dies (SIGKILL, as the OOM killer does) in the middle of an import. acks_late and
    reject_on_worker_lost put the task back at once; it finds the job running with a fresh heartbeat, comes back
    once the heartbeat went stale (2 s here), takes the job over and imports everything, once."""
    import psycopg

    job = _order_import_job(manager, django_capture_on_commit_callbacks)
    queue = f"test-import-kill-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    blocker = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                              user=db["USER"] or "postgres", dbname=db["NAME"])
    worker = worker_start(queue, pool=("-P", "prefork", "-c", "1"), env={"HUIKE_JOB_STALE_AFTER_SECONDS": "2"})
    try:
        # Given an import that blocks on a lock we hold, so its worker is surely in the middle of it
        blocker.execute("BEGIN")
        blocker.execute(f"LOCK TABLE {Order._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        import_job_run.apply_async(args=[job.id], queue=queue)
        wait_for(lambda: Job.objects.filter(id=job.id, status=Job.Status.RUNNING).exists(), 60, "the claim")
        child = wait_for(lambda: _pool_children(worker.pid), 10, "the pool process")[0]

        # When the pool process running it is killed, and the lock goes away
        os.kill(child, signal.SIGKILL)
        time.sleep(1)
        blocker.execute("ROLLBACK")

        # Then the redelivered task takes the job over once it is stale, and the import lands once
        wait_for(lambda: Job.objects.filter(id=job.id, status__in=Job.FINISHED).exists(), 90, "the job to finish")
    finally:
        blocker.close()
        worker_stop(worker)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.claims == 2
    assert job.result["files"][0]["orders_created"] == 56
    assert Order.objects.count() == 56


def test_a_task_redelivered_for_a_stale_running_import_takes_it_over(worker_queue, manager,
                                                                      django_capture_on_commit_callbacks):
    # Given an import job left "running" by a worker that died ten minutes and more ago
    job = _order_import_job(manager, django_capture_on_commit_callbacks)
    stale = timezone.now() - timedelta(seconds=settings.HUIKE_JOB_STALE_AFTER_SECONDS + 60)
    Job.objects.filter(id=job.id).update(status=Job.Status.RUNNING, started_at=stale, heartbeat_at=stale, claims=1)

    # When its task is delivered again to a live worker
    import_job_run.apply_async(args=[job.id], queue=worker_queue)

    # Then that worker takes the job over and finishes the import
    wait_for(lambda: Job.objects.filter(id=job.id, status__in=Job.FINISHED).exists(), 60, "the job to finish")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.claims == 2
    assert Order.objects.count() == 56


def test_a_prefork_worker_imports_a_pair_with_the_lines_prepared_on_a_second_connection(
    manager, django_capture_on_commit_callbacks, tmp_path
):
    # Given a prefork worker that takes every CSV the set-based way, its log kept
    queue = f"test-import-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log_file:
        worker = worker_start(queue, pool=("-c", "1"), env={"HUIKE_IMPORT_STAGE_MIN_BYTES": "0"}, loglevel="info",
                              log=log_file)
    try:
        files = [
            SimpleUploadedFile(name, (SAMPLES / "v2023" / name).read_bytes())
            for name in ("ExportOrderList202403311530.csv", "ExportOrderDetailList202403311530.csv")
        ]
        with django_capture_on_commit_callbacks(execute=False):
            job = import_job_create(files=files, user=manager)

        # When the job goes to the worker
        import_job_run.apply_async(args=[job.id], queue=queue)
        wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 90, "the import job to finish")
    finally:
        worker_stop(worker)

    # Then the lines were prepared on a second connection inside the worker's process and written after the orders
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert "preparing ExportOrderDetailList202403311530.csv ahead, on a second connection" in log_path.read_text()
    [orders, lines] = job.result["files"]
    assert orders["orders_created"] == Order.objects.count() > 0
    assert lines["lines_created"] == OrderLine.objects.count() > 0
    assert OrderLine.objects.filter(order__isnull=False).count() == OrderLine.objects.count() - lines["orphans"]
