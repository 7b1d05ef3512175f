"""A real Celery worker process, for the tests that send tasks through Redis (markers `redis` and `postgres`): it
consumes a queue of its own and works on the test database. The `worker_queue` fixture (tests/conftest.py) starts
one for a test; a test that needs another pool, other settings or the worker's log starts its own here."""

import os
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection

SOLO = ("-P", "solo", "-c", "1")


def worker_start(queue: str, *, pool: tuple[str, ...] = SOLO, env: dict[str, str] | None = None,
                 loglevel: str = "warning", log=None) -> subprocess.Popen:
    """`celery worker` on `queue`, connected to the test database and broker, with `env` added to its environment
    and its output written to the open file `log` if given. The caller stops it with worker_stop()."""
    db = connection.settings_dict
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    environment = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                   "DJANGO_SETTINGS_MODULE": "crm.settings.test", **(env or {})}
    output = {"stdout": log, "stderr": subprocess.STDOUT} if log else {}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "-Q", queue, *pool,
         "--without-gossip", "--without-mingle", "-l", loglevel],
        cwd=settings.BASE_DIR, env=environment, **output,
    )


def worker_stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    worker.wait(timeout=30)


def wait_for(predicate, timeout: float, what: str):
    """Ask `predicate` until it answers something true and return that; fail the test if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
