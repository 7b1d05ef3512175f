"""Fixtures the tests of several apps share (one app's own go to tests/<app>/conftest.py): role personas,
signed-in clients, the browser, Celery, server detection, and the rule that CI skips nothing.

Server-bound tests carry a marker: `postgres` (needs DATABASE_URL on PostgreSQL), `redis` (needs
CELERY_BROKER_URL on a reachable Redis), `browser` (needs /usr/bin/chromium and chromedriver). Without the
server they are skipped with the reason. With HUIKE_REQUIRE_SERVERS=1 (CI) a single skip fails the run.
"""

import os
import shutil

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from crm.roles import AGENT, MANAGER, STAFF

from .crm.factories import UserFactory


def _redis_reachable(url: str) -> str | None:
    if not url.startswith("redis://"):
        return "needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis at {url} does not answer: {exc}"
    return None


def _why_not(marker: str) -> str | None:
    """The reason a marker's server is missing, or None when it is there."""
    if marker == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/huike"
        return None
    if marker == "redis":
        return _redis_reachable(settings.CELERY_BROKER_URL)
    if marker == "browser":
        if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
            return "needs Chromium: apt-get install chromium chromium-driver"
        if not shutil.which("chromedriver"):
            return "needs chromedriver: apt-get install chromium-driver"
        return None
    return None


def pytest_collection_modifyitems(config, items):
    reasons: dict[str, str | None] = {}
    for item in items:
        for marker in ("postgres", "redis", "browser"):
            if item.get_closest_marker(marker):
                if marker not in reasons:
                    reasons[marker] = _why_not(marker)
                if reasons[marker]:
                    item.add_marker(pytest.mark.skip(reason=reasons[marker]))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and os.environ.get("HUIKE_REQUIRE_SERVERS") == "1":
        terminalreporter.write_line(
            f"HUIKE_REQUIRE_SERVERS=1: {len(skipped)} test(s) were skipped; in CI every test must run.", red=True
        )


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and os.environ.get("HUIKE_REQUIRE_SERVERS") == "1" and session.exitstatus == 0:
        session.exitstatus = 1


# --- Role personas --------------------------------------------------------------------------------


def _user_with_role(role: str | None, username: str):
    user = UserFactory(username=username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def manager(db):
    return _user_with_role(MANAGER, "manager")


@pytest.fixture
def staff(db):
    return _user_with_role(STAFF, "staff")


@pytest.fixture
def agent(db):
    return _user_with_role(AGENT, "agent")


@pytest.fixture
def outsider(db):
    """Signed in, but with no role."""
    return _user_with_role(None, "outsider")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def admin_client(client, superuser):
    """The test client signed in to /admin/ as the `superuser` persona. It replaces pytest-django's own
    admin_client (whose admin is a user of its own) so that a test can check who the audit log names."""
    client.force_login(superuser)
    return client


@pytest.fixture
def client_for(client):
    """client_for(user) -> a test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api(api_client):
    """api(user) -> the DRF test client authenticated as that user."""

    def as_user(user):
        api_client.force_authenticate(user)
        return api_client

    return as_user


# --- Browser (real headless Chromium through chromedriver) ---------------------------------------


@pytest.fixture
def browser(request):
    """A headless Chromium driven by Selenium. Use with `live_server` and `browser_login`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    # Flags as this machine needs them: no sandbox as root, and no background calls to the closed network.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def browser_login(browser, live_server):
    """browser_login(user) signs `user` in through the real login form and returns the driver once the login
    has gone through (a page opened before its response arrives cancels the form post: the test then meets the
    login page instead of the one it asked for)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from .crm.factories import PASSWORD

    def login(user, password: str = PASSWORD):
        login_url = f"{live_server.url}/accounts/login/"
        browser.get(login_url)
        browser.find_element(By.NAME, "username").send_keys(user.username)
        browser.find_element(By.NAME, "password").send_keys(password)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 30).until(lambda d: not d.current_url.startswith(login_url))
        return browser

    return login


@pytest.fixture
def eager(settings):
    """Run Celery tasks in-process, as CELERY_TASK_ALWAYS_EAGER does, for tests that need no real worker (the
    tests about the worker itself start a real one: tests/crm/test_celery_worker.py)."""
    from crm.celery import app

    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def worker_queue():
    """A queue that a real Celery worker process consumes (tests/workers.py), stopped after the test: send a task
    there with `apply_async(..., queue=worker_queue)`. Needs the `redis` and `postgres` markers."""
    import uuid

    from .workers import worker_start, worker_stop

    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = worker_start(queue)
    yield queue
    worker_stop(worker)
