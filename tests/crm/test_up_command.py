"""`manage.py up` runs web + worker + beat, serves pages, and Ctrl-C stops every process cleanly."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children_of(pid: int) -> list[int]:
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in result.stdout.split()]


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses ps to find the child processes")
def test_up_serves_the_app_and_ctrl_c_stops_web_worker_and_beat(tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "CELERY_BROKER_URL": "filesystem://",
           "DJANGO_SETTINGS_MODULE": "crm.settings.local", "HUIKE_NO_VENV": "1"}
    process = subprocess.Popen([sys.executable, "manage.py", "up", "--no-demo", "--port", str(port)],
                               cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline = time.monotonic() + 90
        health = None
        while health is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            health = _healthz(port)
        children = _children_of(process.pid)

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert health == {"status": "ok", "database": {"ok": True, "vendor": "sqlite"},
                      "broker": {"ok": True, "transport": "filesystem"}}, output
    assert len(children) == 3, output  # web, worker, beat
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert not any(os.path.exists(f"/proc/{pid}") and _is_alive(pid) for pid in children)


def _is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
