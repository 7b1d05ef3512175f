"""Production settings: refuse to start without secrets, and pass Django's deployment checklist."""

import os
import secrets
import subprocess
import sys

from django.conf import settings


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args, "--settings=crm.settings.production"],
        cwd=settings.BASE_DIR, env={**base, "HUIKE_NO_VENV": "1", **env}, capture_output=True, text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     env={"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "crm.example.com"})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", env={"ALLOWED_HOSTS": "crm.example.com"})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
