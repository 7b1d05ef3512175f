"""What a 500 page may show. The quick-start mode runs with DEBUG on, and Django's debug page would then print the
settings, the environment (DATABASE_URL, CELERY_BROKER_URL with their passwords) and every frame's variables
(a database driver's connection parameters) to whoever hit the error. Ours never shows the settings, and scrubs
credentials from everything else it shows, in every mode."""

import re
from pprint import pformat

from django.views.debug import ExceptionReporter as DjangoExceptionReporter
from django.views.debug import SafeExceptionReporterFilter

SUBSTITUTE = "********************"
# Names whose values are never shown: Django's list plus connection strings (DATABASE_URL, a DSN), whose user-info
# part carries a password.
HIDDEN_NAMES = re.compile(r"API|AUTH|TOKEN|KEY|SECRET|PASS|PWD|SIGNATURE|HTTP_COOKIE|_URL\b|DSN", re.I)
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s'\"]*@", re.I)
_KEYWORD_PASSWORD = re.compile(r"""((?:password|passwd|pwd|secret)['"]?\s*[=:]\s*['"]?)[^\s'",}]+""", re.I)


def scrub(text: str) -> str:
    """`redis://:pw@host` -> `redis://********@host`; `password=pw` / `'password': 'pw'` -> the substitute."""
    text = _URL_CREDENTIALS.sub(rf"\1{SUBSTITUTE}@", text)
    return _KEYWORD_PASSWORD.sub(rf"\1{SUBSTITUTE}", text)


class _Scrubbed:
    """A frame variable as the debug page prints it (its pretty repr), with credentials replaced."""

    def __init__(self, value):
        try:
            self.text = scrub(pformat(value))
        except Exception as exc:  # a broken __repr__ must not hide the original error
            self.text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"

    def __repr__(self) -> str:
        return self.text


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN_NAMES

    def is_active(self, request):
        return True  # Django turns the filter off with DEBUG on; the quick-start mode is exactly when we need it

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        return scrub(cleansed) if isinstance(cleansed, str) else cleansed

    def get_safe_settings(self):
        return {}

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, SUBSTITUTE if HIDDEN_NAMES.search(name) else _Scrubbed(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class ExceptionReporter(DjangoExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        data["settings"] = {}  # never listed: they name every server, user and path of the deployment
        return data
