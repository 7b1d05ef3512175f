"""Segmentation refreshes at the same time (two imports finishing together), on PostgreSQL, each in a thread with its
own connection; and the refresh's outcome recorded on the import job."""

import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test import Client
from django.urls import reverse

from crm.models import Job
from customers.importing.jobs import import_job_segmentation_refresh
from customers.models import Customer, CustomerScore, SegmentationSettings
from customers.segmentation._sql import refresh_lock
from customers.segmentation.services import segmentation_refresh
from tests.crm.factories import JobFactory
from tests.customers.factories import CustomerFactory, OrderFactory, TierFactory

pytestmark = pytest.mark.postgres
WAIT = 120  # seconds: only a bound for a test that would otherwise hang, never a figure asserted


def new_buyers(count: int) -> list[int]:
    """Buyers as an import leaves them: orders and figures, no score row, no tier, no points yet."""
    ids = []
    for n in range(count):
        customer = CustomerFactory(total_paid=Decimal("200"), paid_order_count=1, order_count=1)
        order = OrderFactory(customer=customer, paid_amount=Decimal("200"))
        Customer.objects.filter(pk=customer.pk).update(last_paid_at=order.paid_at, first_paid_at=order.paid_at)
        ids.append(customer.pk)
        del n
    return ids


def backend_waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_two_refreshes_at_once_both_land_and_no_customer_loses_points_or_tier(transactional_db):
    # Given the shop's settings, one tier every paying buyer reaches, and two imports' new buyers (no scores yet)
    SegmentationSettings.objects.create(pk=1, points_per_yuan=Decimal("1"), points_expiry="never")
    tier = TierFactory(name="普通会员", rank=1, min_total_paid=Decimal("0"), min_paid_orders=1)
    first, second = new_buyers(30), new_buyers(30)
    first_refreshed, second_started = threading.Event(), threading.Event()
    second_waits = threading.Event()
    outcome: dict = {}

    def first_import():  # refreshes, then holds its transaction open until the second refresh waits on it
        try:
            with transaction.atomic():
                segmentation_refresh(customer_ids=first)
                first_refreshed.set()
                second_waits.wait(WAIT)
        except Exception as exc:  # noqa: BLE001 reported by the assertions below
            outcome["first"] = exc
        finally:
            first_refreshed.set()
            connections.close_all()

    def second_import():
        try:
            first_refreshed.wait(WAIT)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                outcome["second_pid"] = cursor.fetchone()[0]
            second_started.set()
            segmentation_refresh(customer_ids=second)
        except Exception as exc:  # noqa: BLE001 reported by the assertions below
            outcome["second"] = exc
        finally:
            second_started.set()
            connections.close_all()

    # When both refresh at the same time: the second starts while the first's writes are not committed yet
    threads = [threading.Thread(target=first_import), threading.Thread(target=second_import)]
    for thread in threads:
        thread.start()
    second_started.wait(WAIT)
    for _ in range(WAIT * 20):
        if "second" in outcome or backend_waits_on_a_lock(outcome["second_pid"]):
            break
        threading.Event().wait(0.05)
    second_waits.set()
    for thread in threads:
        thread.join(WAIT)

    # Then neither failed, and every buyer of both imports has its scores, its tier and its points
    assert "first" not in outcome and "second" not in outcome, outcome
    everyone = first + second
    assert CustomerScore.objects.filter(customer_id__in=everyone).count() == 60
    assert set(CustomerScore.objects.filter(customer_id__in=everyone).values_list("lifecycle_stage", flat=True)) \
        - {""} and not CustomerScore.objects.filter(customer_id__in=everyone, rfm_r=None).exists()
    assert set(Customer.objects.filter(pk__in=everyone).values_list("tier_id", flat=True)) == {tier.pk}
    assert set(Customer.objects.filter(pk__in=everyone).values_list("points_balance", flat=True)) == {200}


def test_a_failed_refresh_after_an_import_shows_on_the_job_and_a_later_one_replaces_it(transactional_db, manager):
    # Given an import job that finished, its refresh queued, and another refresh holding the refresh lock
    SegmentationSettings.objects.create(pk=1)
    buyers = new_buyers(3)
    job = JobFactory(kind="import_orders", status=Job.Status.SUCCEEDED, created_by=manager,
                     result={"files": [], "status": "succeeded",
                             "segmentation": {"status": "queued", "customers": 3, "error": ""}})
    holding, release = threading.Event(), threading.Event()

    def other_refresh():
        try:
            with transaction.atomic():
                refresh_lock()
                holding.set()
                release.wait(WAIT)
        finally:
            holding.set()
            connections.close_all()

    other = threading.Thread(target=other_refresh)
    other.start()
    holding.wait(WAIT)

    # When this job's refresh cannot get on (the database gives up waiting)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    try:
        with pytest.raises(OperationalError):
            import_job_segmentation_refresh(job_id=job.pk, customer_ids=buyers)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release.set()
        other.join(WAIT)

    # Then the job says the refresh failed, with the database's reason, on its page too
    job.refresh_from_db()
    assert job.result["segmentation"]["status"] == "failed"
    assert "lock" in job.result["segmentation"]["error"]
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert 'id="import-segmentation" data-status="failed"' in page

    # and when it runs again it succeeds, and says so
    import_job_segmentation_refresh(job_id=job.pk, customer_ids=buyers)
    job.refresh_from_db()
    assert job.result["segmentation"]["status"] == "succeeded"
    assert CustomerScore.objects.filter(customer_id__in=buyers).count() == 3
