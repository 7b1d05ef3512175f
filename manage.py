#!/usr/bin/env python3
"""Django's command-line utility, plus a bootstrap for a fresh machine.

Run with any Python 3.12+: when Django is not importable, this creates `.venv/`, installs
`requirements.txt` into it (and `requirements-dev.txt` when the command is `test`) and re-runs the
same command with the virtualenv's interpreter.
That is what makes `python3 manage.py up` and `python3 manage.py test` the only two set-up steps.
"""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 12)  # Django 6 needs 3.12+.


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def find_base_python() -> str:
    """This interpreter if it is new enough, else a python3.12+ found on PATH or under pyenv."""
    if sys.version_info >= MIN_PYTHON:
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(20, MIN_PYTHON[1] - 1, -1)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")), reverse=True)
    for candidate in filter(None, candidates):
        check = f"import sys, venv; print(sys.version_info[:2] >= {MIN_PYTHON!r})"
        probe = subprocess.run([candidate, "-c", check], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    sys.exit(f"Huike needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ (Django 6 does); this is "
             f"{sys.version.split()[0]} and no newer python3.x was found on PATH. Install Python 3.12 or newer.")


def wanted_requirements(argv: list[str]) -> list[str]:
    """The app's requirements, plus the tests' and tools' ones when the command is `test`."""
    files = ["requirements.txt"]
    if argv[1:2] == ["test"] or os.environ.get("HUIKE_DEV_REQUIREMENTS"):
        files.append("requirements-dev.txt")
    return files


def install_requirements(python: Path, name: str) -> None:
    # One stamp per file, so `up` after `test` (or the reverse) reinstalls nothing that is already there.
    stamp = VENV / f".{name}"
    wanted = (ROOT / name).read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"Installing {name} into .venv/ (first run only) ...", flush=True)
    subprocess.check_call([str(python), "-m", "pip", "install", "-q", "-r", str(ROOT / name)])
    stamp.write_text(wanted)


def bootstrap() -> None:
    """Create the virtualenv and install the pinned requirements, then re-exec inside it."""
    python = venv_python()
    if not python.exists():
        print("Creating .venv/ ...", flush=True)
        subprocess.check_call([find_base_python(), "-m", "venv", str(VENV)])
        subprocess.check_call([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    for name in wanted_requirements(sys.argv):
        install_requirements(python, name)
    os.execv(str(python), [str(python), *sys.argv])


def in_some_virtualenv() -> bool:
    # Respect a virtualenv the developer activated, and HUIKE_NO_VENV for images that install system-wide.
    return sys.prefix != sys.base_prefix or bool(os.environ.get("HUIKE_NO_VENV"))


START_HERE = """Huike CRM. The commands you will want first:

  up               run the whole app here (web, worker, beat): python3 manage.py up [--port 8000]
  import_orders    import Taobao/Tmall order, item and refund exports: python3 manage.py import_orders FILE...
  test             run the test suite (arguments go to pytest)
  seed_demo        load the demo shop

`python3 manage.py help COMMAND` explains one command. Every command:
"""


def main() -> None:
    if not in_some_virtualenv():
        bootstrap()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    from django.core.management import ManagementUtility

    class Utility(ManagementUtility):
        def main_help_text(self, commands_only=False):
            # Django's list names every command of every app alphabetically; say first which ones start the app.
            text = super().main_help_text(commands_only=commands_only)
            return text if commands_only else START_HERE + text

    Utility(sys.argv).execute()


if __name__ == "__main__":
    main()
