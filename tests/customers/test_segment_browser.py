"""In a real browser: shop staff build a segment in the builder and watch the live count change."""

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from customers.models import Customer, Segment
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def live_count(driver) -> str | None:
    found = driver.find_elements(By.CSS_SELECTOR, "#live-count [data-count]")
    return found[0].get_attribute("data-count") if found else None


def count_shown(wait, expected: str) -> None:
    """Wait for the live count to read `expected`; on timeout, say what the page showed instead."""
    try:
        wait.until(lambda d: live_count(d) == expected)
    except TimeoutException:
        driver = wait._driver
        found = driver.find_elements(By.ID, "live-count")
        shown = found[0].get_attribute("outerHTML") if found else f"no live count on {driver.current_url}"
        customers = Customer.objects.count()
        raise AssertionError(f"live count {expected} never shown: {shown}; customers: {customers}") from None


def test_staff_build_a_segment_and_see_the_live_count_change(browser_login, live_server, staff):
    # Given three customers in Zhejiang and one in Shanghai
    for _ in range(3):
        CustomerFactory(province="浙江省")
    CustomerFactory(province="上海")
    driver = browser_login(staff)
    wait = WebDriverWait(driver, 30)
    driver.get(f"{live_server.url}/customers/segments/new/")
    count_shown(wait, "4")  # no condition yet: everyone

    # When they add a condition "province is any of 上海"
    driver.find_element(By.NAME, "name").send_keys("上海客户")
    driver.find_element(By.CSS_SELECTOR, "#segment-builder .add-condition").click()
    Select(driver.find_element(By.CSS_SELECTOR, ".builder-condition .cond-field")).select_by_value("province")
    value = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".builder-condition .cond-input")))
    value.send_keys("上海")

    # Then the count drops to the one customer in Shanghai, and the saved segment selects her
    count_shown(wait, "1")
    driver.find_element(By.CSS_SELECTOR, "#segment-form button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.ID, "insight-figures")))
    segment = Segment.objects.get(name="上海客户")
    assert segment.definition["conditions"] == [{"field": "province", "operator": "in", "value": ["上海"]}]
    assert driver.find_element(By.CSS_SELECTOR, "[data-figure=members]").text == "1"
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-chart=province] canvas"))  # ECharts drew


def test_a_nested_or_group_widens_the_count(browser_login, live_server, staff):
    CustomerFactory(province="浙江省", gender="F")
    CustomerFactory(province="上海", gender="M")
    CustomerFactory(province="北京", gender="M")
    driver = browser_login(staff)
    wait = WebDriverWait(driver, 30)
    driver.get(f"{live_server.url}/customers/segments/new/")
    count_shown(wait, "3")

    # A top-level OR of two groups: (province 浙江省) OR (province 上海)
    Select(driver.find_element(By.CSS_SELECTOR, "#segment-builder .group-op")).select_by_value("or")
    for province in ("浙江省", "上海"):
        driver.find_elements(By.CSS_SELECTOR, "#segment-builder .add-group")[-1].click()
        rows = driver.find_elements(By.CSS_SELECTOR, ".builder-group .builder-group .builder-condition")
        Select(rows[-1].find_element(By.CSS_SELECTOR, ".cond-field")).select_by_value("province")
        rows = driver.find_elements(By.CSS_SELECTOR, ".builder-group .builder-group .builder-condition")
        rows[-1].find_element(By.CSS_SELECTOR, ".cond-input").send_keys(province)

    count_shown(wait, "2")
