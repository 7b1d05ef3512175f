"""Settings for pytest. The server-bound tests need DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis)."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests create many users
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": VAR_DIR / "test-private"}},  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
LANGUAGE_CODE = "zh-hans"
