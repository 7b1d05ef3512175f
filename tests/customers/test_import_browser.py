"""In a real browser: upload exports, watch the job's progress, read the result."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from crm.models import Job
from customers.importing.jobs import import_job_execute

from .importing_fixtures import SAMPLES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queued_not_run():
    """The upload only queues the job (no eager run), so the page shows it queued until the worker below runs."""
    from crm.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


def test_a_manager_uploads_exports_watches_the_progress_and_reads_the_result(
    browser_login, live_server, manager, queued_not_run
):
    # Given a manager on the upload page
    driver = browser_login(manager)
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "nav")))
    driver.get(f"{live_server.url}/customers/import/")

    # When she chooses the 订单报表 and the 宝贝报表 and submits
    files = [SAMPLES / "v2017/ExportOrderList202403311530.csv", SAMPLES / "v2017/ExportOrderDetailList202403311530.csv"]
    driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys("\n".join(map(str, files)))
    chosen = driver.find_element(By.ID, "chosen").text
    assert "ExportOrderList202403311530.csv" in chosen and "ExportOrderDetailList202403311530.csv" in chosen
    driver.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()

    # Then she lands on the job page, which shows the queued job and its progress bar
    status = WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "job-status")))
    assert status.get_attribute("data-status") == "queued"
    assert driver.find_elements(By.CSS_SELECTOR, "#job-status .progress")
    job = Job.objects.get(kind="import_orders")
    assert driver.current_url.endswith(f"/jobs/{job.pk}/")

    # When a worker runs the job, the page (polling) shows the per-file result and the rejected rows
    import_job_execute(job_id=job.pk)
    result = WebDriverWait(driver, 15).until(EC.visibility_of_element_located((By.ID, "import-result")))
    assert "ExportOrderList202403311530.csv" in result.text
    assert "ExportOrderDetailList202403311530.csv" in result.text
    assert "2.53564E+17" in result.text
    assert driver.find_element(By.ID, "job-status").get_attribute("data-status") == "succeeded"
