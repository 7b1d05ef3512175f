"""`manage.py up`: migrate, load the demo shop on first run, then run web + worker + beat until Ctrl-C."""

import errno
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from crm.demo_accounts import DEMO_ACCOUNTS

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupted(number, frame):
    raise KeyboardInterrupt


def port_problem(host: str, port: str) -> str | None:
    """Why the web server could not listen on host:port, or None when it can. Asked before anything starts, so
    a taken port fails at once and clearly instead of after the banner, with the worker and beat running."""
    try:
        number = int(port)
    except ValueError:
        return f"--port must be a number, not {port!r}"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, number))  # no SO_REUSEADDR: the same test runserver's own bind will face
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {number} on {host} is already in use (another `up` or runserver?); stop it or "
                        f"choose another port with --port")
            return f"cannot listen on {host}:{number}: {exc.strerror}"
    return None


class Command(BaseCommand):
    help = (
        "Run the whole app on this machine: migrate, load the demo shop on an empty database, then run the web "
        "server, a Celery worker and Celery beat until Ctrl-C, which stops all three."
    )
    epilog = (
        "Example: python3 manage.py up --port 8080. Import orders from the command line with "
        "`python3 manage.py import_orders FILE...`; run the tests with `python3 manage.py test`."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, epilog=self.epilog, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address the web server listens on "
                                                                "(default 127.0.0.1; 0.0.0.0 for the whole network)")
        parser.add_argument("--port", default="8000", help="web server port (default 8000)")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo shop on an empty database.")
        parser.add_argument("--reload", action="store_true", help="Restart the web server when code changes.")

    def handle(self, *args, host, port, no_demo, reload, **options):
        problem = port_problem(host, port)
        if problem:
            raise CommandError(problem)
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
