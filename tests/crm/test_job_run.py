"""crm.jobs.job_run: the one way a worker claims a job, runs its work and records how it ended."""

import pytest

from crm.jobs import JobFailed, job_run
from crm.models import Job
from crm.services import job_progress
from tests.crm.factories import JobFactory

pytestmark = pytest.mark.django_db


def test_work_that_returns_a_result_succeeds_and_runs_once():
    job = JobFactory(status=Job.Status.QUEUED)
    calls = []

    def work(running):
        calls.append(running.pk)
        job_progress(job=running, done=5, total=10)
        return {"rows": 5}

    assert job_run(job_id=job.pk, work=work) == Job.Status.SUCCEEDED
    assert job_run(job_id=job.pk, work=work) is None  # a second delivery finds it finished
    job.refresh_from_db()
    assert (job.status, job.result, job.progress_done, calls) == (Job.Status.SUCCEEDED, {"rows": 5}, 5, [job.pk])


def test_work_may_end_otherwise_than_succeeded():
    job = JobFactory(status=Job.Status.QUEUED)
    assert job_run(job_id=job.pk, work=lambda j: (Job.Status.PARTIAL, {"bad_rows": 3})) == Job.Status.PARTIAL
    job.refresh_from_db()
    assert job.result == {"bad_rows": 3}


def test_an_expected_failure_keeps_its_message_and_an_unexpected_one_its_type():
    expected, unexpected = JobFactory(status=Job.Status.QUEUED), JobFactory(status=Job.Status.QUEUED)

    def refuse(job):
        raise JobFailed("The file is gone.")

    def crash(job):
        raise KeyError("format")

    assert job_run(job_id=expected.pk, work=refuse) == Job.Status.FAILED
    assert job_run(job_id=unexpected.pk, work=crash) == Job.Status.FAILED
    expected.refresh_from_db()
    unexpected.refresh_from_db()
    assert expected.error == "The file is gone."
    assert unexpected.error == "KeyError: 'format'" and unexpected.status == Job.Status.FAILED
