"""Each role signs in through the real login form in headless Chromium and sees only its areas."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED_NAV = {
    "manager": {"home", "customers:list", "customers:import", "customers:segments", "campaigns:index",
                "reviews:index", "aftersales:index", "dashboard", "jobs"},
    "staff": {"home", "customers:list", "customers:import", "customers:segments", "campaigns:index", "jobs"},
    "agent": {"home", "customers:list", "reviews:index", "aftersales:index", "jobs"},
}


def _navigation_after_login(browser_login, user) -> set[str]:
    driver = browser_login(user)
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "nav")))
    return {a.get_attribute("data-nav") for a in driver.find_elements(By.CSS_SELECTOR, "#nav a")}


@pytest.mark.parametrize("persona", ["manager", "staff", "agent"])
def test_each_role_sees_exactly_its_areas_in_the_sidebar(request, browser_login, persona):
    user = request.getfixturevalue(persona)

    navigation = _navigation_after_login(browser_login, user)

    assert navigation == EXPECTED_NAV[persona]


def test_the_interface_speaks_chinese_by_default(browser_login, manager):
    driver = browser_login(manager)
    WebDriverWait(driver, 30).until(EC.presence_of_element_located((By.ID, "nav")))

    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-hans"
    assert "客户" in driver.find_element(By.ID, "nav").text
