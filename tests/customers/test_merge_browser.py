"""In a real browser: find a duplicate by typing part of its name, open the preview, merge."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from customers.models import CustomerMerge
from tests.customers.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_picks_the_duplicate_by_search_and_merges_it(browser_login, live_server, manager):
    # Given a customer and her duplicate under another member name
    target = CustomerFactory(buyer_nick="tb_rose", real_name="王玫瑰")
    twin = CustomerFactory(buyer_nick="rose_2019", real_name="王玫瑰")
    CustomerFactory(buyer_nick="someone_else")
    driver = browser_login(manager)
    driver.get(f"{live_server.url}/customers/{target.pk}/")

    # When the manager types part of the other member name into the merge picker
    search = WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "merge-search")))
    search.send_keys("rose_")

    # Then the candidates appear (htmx), without the customer herself, and she picks the duplicate
    pick = WebDriverWait(driver, 15).until(EC.element_to_be_clickable(
        (By.CSS_SELECTOR, f'#merge-candidates li[data-customer="{twin.pk}"] a')))
    assert "someone_else" not in driver.find_element(By.ID, "merge-candidates").text
    pick.click()

    # And the preview of that pair opens; confirming merges it
    preview = WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.ID, "merge-preview")))
    assert "rose_2019" in preview.text
    preview.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: d.current_url.rstrip("/").endswith(f"/customers/{target.pk}"))
    assert CustomerMerge.objects.get().source_id == twin.pk
