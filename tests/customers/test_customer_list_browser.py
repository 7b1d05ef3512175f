"""In a real browser: the customer list fills in its total after the page has loaded (htmx)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_list_shows_the_total_of_the_filtered_customers(browser_login, live_server, manager):
    CustomerFactory.create_batch(2, province="广东省", city="广州市")
    CustomerFactory(province="浙江省", city="杭州市")
    driver = browser_login(manager)

    driver.get(f"{live_server.url}/customers/?province=广东")

    total = WebDriverWait(driver, 15).until(EC.visibility_of_element_located((By.ID, "customer-total")))
    assert total.get_attribute("data-count") == "2" and "2 位客户" in total.text
    options = driver.find_elements(By.CSS_SELECTOR, "#province-options option")
    assert {o.get_attribute("value") for o in options} == {"广东省", "浙江省"}
