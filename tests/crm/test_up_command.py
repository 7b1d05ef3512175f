"""`manage.py up` runs web + worker + beat, serves pages, and Ctrl-C stops every process cleanly."""

import contextlib
import io
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
from django.core.management import call_command


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


def _sigint_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell starts a background job (`.ci/run &`)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses ps to find the child processes")
@pytest.mark.parametrize(
    "stop_signal, started_with",
    [(signal.SIGINT, None), (signal.SIGINT, _sigint_ignored), (signal.SIGTERM, None)],
    ids=["ctrl-c", "sigint-to-a-background-job", "sigterm"],
)
def test_up_serves_the_app_and_a_stop_signal_stops_web_worker_and_beat(tmp_path, stop_signal, started_with):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "CELERY_BROKER_URL": "filesystem://",
           "DJANGO_SETTINGS_MODULE": "crm.settings.local", "HUIKE_NO_VENV": "1"}
    # A file, not a pipe: the three children write to it too, and a pipe nobody reads until the end fills up and
    # blocks them (and `up` itself) mid-write; a pipe also stays open while any orphan holds it.
    log_path = tmp_path / "up.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "up", "--no-demo", "--port", str(port)],
                                   cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=started_with)
    children = []
    try:
        deadline = time.monotonic() + 90
        health = None
        while health is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            health = _healthz(port)
        children = _children_of(process.pid)

        process.send_signal(stop_signal)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:  # failed already: leave no orphan running into the rest of the suite
            process.kill()
            for pid in children:
                _kill(pid)
        output = log_path.read_text(errors="replace")

    # An anonymous caller learns only which part is up (issue #18 item 13), not the vendor or transport.
    assert health == {"status": "ok", "database": {"ok": True}, "broker": {"ok": True}}, output
    assert len(children) == 3, output  # web, worker, beat
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert not any(os.path.exists(f"/proc/{pid}") and _is_alive(pid) for pid in children)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.django_db
def test_a_ctrl_c_while_the_banner_is_written_still_stops_every_process_started(monkeypatch):
    from crm.management.commands import up

    started = []
    stopped = {}
    stop = up.Command.stop
    handlers = {number: signal.getsignal(number) for number in up.STOP_SIGNALS}
    popen = subprocess.Popen

    def child(command, **kwargs):  # a real process to stop, not a server on the suite's own database and broker
        started.append(command)
        return popen(["sleep", "60"])

    def interrupted(self, host, port):
        raise KeyboardInterrupt  # as a terminal's Ctrl-C lands between starting the children and watching them

    def recorded_stop(self, processes):
        stop(self, processes)
        stopped.update(processes)

    monkeypatch.setattr(up.subprocess, "Popen", child)
    monkeypatch.setattr(up.Command, "announce", interrupted)
    monkeypatch.setattr(up.Command, "stop", recorded_stop)
    call_command("up", "--no-demo", "--port", str(_free_port()), stdout=io.StringIO())

    assert len(started) == 3 and sorted(stopped) == ["beat", "web", "worker"]
    assert all(process.poll() is not None for process in stopped.values())
    assert {number: signal.getsignal(number) for number in up.STOP_SIGNALS} == handlers  # nothing leaks
