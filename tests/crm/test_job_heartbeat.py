"""A Job never stays "running" when its worker died: heartbeats, take-over by a redelivered task, and the
beat task that fails the jobs nobody took over."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Job
from crm.services import job_claim, job_heartbeat, job_progress, job_running_elsewhere, jobs_fail_abandoned
from tests.crm.factories import JobFactory

pytestmark = pytest.mark.django_db


def ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


@pytest.fixture
def thresholds(settings):
    settings.HUIKE_JOB_STALE_AFTER_SECONDS = 600
    settings.HUIKE_JOB_ABANDONED_AFTER_SECONDS = 1800
    settings.HUIKE_JOB_MAX_CLAIMS = 3
    return settings


def running_job(*, heartbeat, claims=1, **fields):
    return JobFactory(status=Job.Status.RUNNING, started_at=ago(hours=2), heartbeat_at=heartbeat, claims=claims,
                      **fields)


def test_claiming_a_queued_job_starts_its_heartbeat(thresholds):
    job = JobFactory()

    claimed = job_claim(job_id=job.id)

    assert claimed.status == Job.Status.RUNNING
    assert claimed.claims == 1
    assert claimed.heartbeat_at is not None and claimed.heartbeat_at > ago(minutes=1)


def test_a_running_job_with_a_fresh_heartbeat_is_not_claimed_again(thresholds):
    job = running_job(heartbeat=ago(minutes=2))

    assert job_claim(job_id=job.id) is None
    assert job_running_elsewhere(job_id=job.id)
    job.refresh_from_db()
    assert job.claims == 1


def test_a_running_job_whose_heartbeat_is_stale_is_taken_over(thresholds):
    job = running_job(heartbeat=ago(minutes=11))
    started = job.started_at

    claimed = job_claim(job_id=job.id)

    assert claimed is not None and claimed.status == Job.Status.RUNNING
    assert claimed.claims == 2
    assert claimed.heartbeat_at > ago(minutes=1)
    assert claimed.started_at == started  # the job's start stays the first one


def test_a_job_claimed_before_heartbeats_existed_is_judged_by_its_start(thresholds):
    job = JobFactory(status=Job.Status.RUNNING, started_at=ago(minutes=30), heartbeat_at=None, claims=0)

    assert job_claim(job_id=job.id) is not None


def test_a_stale_job_that_already_killed_its_worker_too_often_is_not_taken_over(thresholds):
    job = running_job(heartbeat=ago(minutes=11), claims=3)

    assert job_claim(job_id=job.id) is None


def test_a_finished_job_is_never_claimed(thresholds):
    job = JobFactory(status=Job.Status.SUCCEEDED, finished_at=ago(hours=1))

    assert job_claim(job_id=job.id) is None


def test_progress_and_heartbeat_refresh_the_heartbeat(thresholds):
    job = running_job(heartbeat=ago(minutes=9))

    job_progress(job=job, done=5, total=10, step="reading")
    job.refresh_from_db()
    assert job.heartbeat_at > ago(minutes=1)

    Job.objects.filter(id=job.id).update(heartbeat_at=ago(minutes=9))
    job_heartbeat(job=job)
    job.refresh_from_db()
    assert job.heartbeat_at > ago(minutes=1)
    assert job_claim(job_id=job.id) is None


def test_beat_fails_a_job_nobody_took_over_and_says_why(thresholds):
    abandoned = running_job(heartbeat=ago(minutes=31), result={"files": []})
    stale_only = running_job(heartbeat=ago(minutes=11))
    alive = running_job(heartbeat=ago(minutes=1))
    out_of_attempts = running_job(heartbeat=ago(minutes=11), claims=3)

    failed = jobs_fail_abandoned()

    assert sorted(failed) == sorted([abandoned.id, out_of_attempts.id])
    abandoned.refresh_from_db()
    assert abandoned.status == Job.Status.FAILED and abandoned.finished_at is not None
    assert abandoned.result["failure"] == "worker_lost" and abandoned.result["attempts"] == 1
    assert abandoned.result["files"] == []  # what the job had already reported stays
    assert "安全" in abandoned.error  # in the shop's language, on the job page
    for job in (stale_only, alive):
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING  # still its chance to be taken over / still alive
    assert jobs_fail_abandoned() == []  # running it again changes nothing


def test_the_job_page_shows_why_an_abandoned_job_failed(thresholds, client_for, manager):
    job = running_job(heartbeat=ago(minutes=40), claims=2, kind="import_orders", created_by=manager)
    jobs_fail_abandoned()

    page = client_for(manager).get(f"/jobs/{job.id}/").content.decode()

    job.refresh_from_db()
    assert job.error and job.error in page
    assert 'id="job-attempts"' in page


def test_the_beat_schedule_runs_the_abandoned_job_check():
    from crm import tasks
    from crm.celery import beat_schedule

    entry = beat_schedule()["fail-abandoned-jobs"]
    assert entry["task"] == tasks.jobs_fail_abandoned.name
