"""A real Celery worker process consumes a task through Redis and does its work in the database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from crm.models import Job
from crm.tasks import prune_finished_jobs

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker_process():
    """A worker on a queue of its own, connected to the test database, stopped after the test."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    database_url = f"postgres://{db['USER'] or 'postgres'}@{host}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "DJANGO_SETTINGS_MODULE": "crm.settings.test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "-Q", queue, "-c", "1", "-P", "solo",
         "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=settings.BASE_DIR, env=env,
    )
    yield queue
    process.terminate()
    process.wait(timeout=30)


def _wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_runs_a_task_sent_through_redis(celery_worker_process):
    old = Job.objects.create(kind="test", status=Job.Status.SUCCEEDED, finished_at=timezone.now() - timedelta(days=400))
    recent = Job.objects.create(kind="test", status=Job.Status.SUCCEEDED, finished_at=timezone.now())

    prune_finished_jobs.apply_async(queue=celery_worker_process)

    assert _wait_until(lambda: not Job.objects.filter(pk=old.pk).exists()), "the worker never ran the task"
    assert Job.objects.filter(pk=recent.pk).exists()
