"""`manage.py up`: migrate, load the demo shop on first run, then run web + worker + beat until Ctrl-C."""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from crm.demo_accounts import DEMO_ACCOUNTS

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupted(number, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the whole app (web server, Celery worker, Celery beat) on this machine."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo shop on an empty database.")
        parser.add_argument("--reload", action="store_true", help="Restart the web server when code changes.")

    def handle(self, *args, host, port, no_demo, reload, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo and not get_user_model().objects.exists():
            self.stdout.write("Loading the demo shop (first run only) ...")
            call_command("seed_demo")
        processes: dict[str, subprocess.Popen] = {}
        # Set, not inherited: a shell starts a background job with SIGINT ignored, and Python then installs no
        # handler of its own, so `kill -INT` would do nothing. SIGTERM (kill, a service manager) stops it too.
        previous = {number: signal.signal(number, _interrupted) for number in STOP_SIGNALS}
        try:  # from the first child on: a stop signal at any point (mid-banner included) stops those started
            self.start(processes, host, port, reload)
            self.announce(host, port)
            self.supervise(processes)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping ...")
        finally:
            self.stop(processes)
            for number, handler in previous.items():
                signal.signal(number, handler)

    def start(self, processes: dict[str, subprocess.Popen], host: str, port: str, reload: bool) -> None:
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        web = [python, manage, "runserver", f"{host}:{port}"]
        if not reload:
            web.append("--noreload")
        # Gossip and mingle need broadcast, which the embedded filesystem broker does not have.
        worker = [python, "-m", "celery", "-A", "crm", "worker", "-l", "info", "-c", "2",
                  "--without-gossip", "--without-mingle", "--without-heartbeat"]
        beat = [python, "-m", "celery", "-A", "crm", "beat", "-l", "info",
                "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME]
        for name, command in (("web", web), ("worker", worker), ("beat", beat)):
            processes[name] = subprocess.Popen(command, cwd=settings.BASE_DIR)

    def announce(self, host: str, port: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nHuike is running at http://{host}:{port}/  (Ctrl-C stops everything)"))
        self.stdout.write(f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}   "
                          f"Broker: {settings.CELERY_BROKER_URL.split('://')[0]}")
        if settings.DEBUG:
            self.stdout.write("Demo logins (role: username / password):")
            for account in DEMO_ACCOUNTS:
                self.stdout.write(f"  {account.role_label:<14} {account.username} / {account.password}")
        self.stdout.write("")

    def supervise(self, processes: dict[str, subprocess.Popen]) -> None:
        """Until one of them exits (then the caller stops the rest) or Ctrl-C."""
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with status {process.returncode}; stopping the rest.")
                    return
            time.sleep(0.5)

    def stop(self, processes: dict[str, subprocess.Popen]) -> None:
        # A terminal's Ctrl-C reaches the children too; a second, impatient Ctrl-C must not leave orphans.
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        self.stdout.write("Stopped.")
