"""`manage.py test` runs the pytest suite (pytest-django), passing any extra arguments through.

Server-bound tests run when DATABASE_URL points at PostgreSQL and CELERY_BROKER_URL at Redis; without
them they are skipped with the reason, and HUIKE_REQUIRE_SERVERS=1 (set by CI) turns any skip into a failure.
"""

import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the test suite with pytest. Extra arguments go to pytest (e.g. -k import -x)."

    def add_arguments(self, parser):
        parser.add_argument("pytest_args", nargs="*")

    def run_from_argv(self, argv):
        # Hand every argument after `test` to pytest untouched, including ones that look like options.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings.test"}
        command = [sys.executable, "-m", "pytest", *argv[2:]]
        sys.exit(subprocess.call(command, cwd=settings.BASE_DIR, env=env))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv does the work
        raise SystemExit(subprocess.call([sys.executable, "-m", "pytest", *options["pytest_args"]]))
