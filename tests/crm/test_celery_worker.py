"""A real Celery worker process consumes a task through Redis and does its work in the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Job
from crm.tasks import prune_finished_jobs

from ..workers import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_worker_runs_a_task_sent_through_redis(worker_queue):
    old = Job.objects.create(kind="test", status=Job.Status.SUCCEEDED, finished_at=timezone.now() - timedelta(days=400))
    recent = Job.objects.create(kind="test", status=Job.Status.SUCCEEDED, finished_at=timezone.now())

    prune_finished_jobs.apply_async(queue=worker_queue)

    wait_for(lambda: not Job.objects.filter(pk=old.pk).exists(), 30, "the worker to run the task")
    assert Job.objects.filter(pk=recent.pk).exists()
