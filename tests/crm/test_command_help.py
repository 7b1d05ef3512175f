"""`manage.py --help` and `up --help` say how to start the app; `up` refuses a taken port before it starts
anything or says it is running."""

import os
import socket
import subprocess
import sys

from django.conf import settings


def _manage(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings.local", "HUIKE_NO_VENV": "1", **(env or {})}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_main_help_names_up_and_import_orders_with_what_they_do():
    result = _manage("--help")

    head = result.stdout.split("Available subcommands")[0]
    assert result.returncode == 0
    assert "up " in head and "run the whole app" in head
    assert "import_orders" in head and "import Taobao/Tmall" in head


def test_up_help_explains_itself_and_points_at_import_orders():
    result = _manage("up", "--help")

    assert result.returncode == 0
    assert "web server, a Celery worker and Celery beat" in result.stdout
    assert "import_orders" in result.stdout and "web server port" in result.stdout


def test_import_orders_help_describes_its_files_and_exit_statuses():
    result = _manage("import_orders", "--help")

    assert "Exit status" in result.stdout and "export files" in result.stdout


def test_up_on_a_taken_port_fails_clearly_before_saying_it_runs(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = _manage("up", "--no-demo", "--port", str(port),
                         env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                              "CELERY_BROKER_URL": "filesystem://"})

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in output
    assert "running at" not in output
