"""Settings shared by every deployment. Anything that differs per deployment comes from the environment."""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"  # git-ignored: SQLite file, local broker, uploads, static build
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; the real environment wins

SECRET_KEY = env("SECRET_KEY", default="insecure-local-only-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: no CDN, works offline
    "import_export",
    "axes",
    "crm",
    "customers",
    "campaigns",
    "reviews",
    "aftersales",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "crm.middleware.ShopLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the auth backend into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# Embedded default: one SQLite file. Set DATABASE_URL=postgres://... for PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'huike.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # The web server, the worker and beat write to one file: WAL lets readers go on during a write,
        # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, roles, sessions ------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Checks nothing: it is how any password change, wherever it is made, revokes the user's API token.
    {"NAME": "crm.authentication.ApiTokenRevokedOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock a username from one address after repeated failures; a manager unlocks with `axes_reset_username`.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no start-up banner in every process

# Idle timeout: the session ends after SESSION_IDLE_MINUTES without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=120) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# A cache shared by the web processes (rate limits). The default, local memory, is per process: right for the
# one web process of `manage.py up`; set CACHE_URL=redis://127.0.0.1:6379/1 when running several.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# API tokens stop working this many days after they were issued (a new one is issued at the next sign-in).
HUIKE_API_TOKEN_DAYS = env.int("HUIKE_API_TOKEN_DAYS", default=30)

# --- i18n -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"  # the shop's clock: Taobao exports are in Beijing time
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Files no URL serves (big customer exports): handed out only by a view that checks who asks.
PRIVATE_ROOT = env.path("PRIVATE_ROOT", default=VAR_DIR / "private")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": PRIVATE_ROOT}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # bigger uploads spool to disk
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Errors ---------------------------------------------------------------------------------------
# No 500 page lists the settings or shows a password, not even in the quick-start mode (DEBUG on): crm/errors.py.
DEFAULT_EXCEPTION_REPORTER = "crm.errors.ExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "crm.errors.ExceptionReporterFilter"

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "crm.authentication.ExpiringTokenAuthentication",  # expires after HUIKE_API_TOKEN_DAYS
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "crm.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A service's ValidationError is a 400 with the field paths, without a try/except in every view.
    "EXCEPTION_HANDLER": "crm.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Huike CRM API",
    "DESCRIPTION": "Customers, orders, segments, campaigns, reviews and after-sales of a Taobao/Tmall shop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` field; name each choice set so the schema's enums do not collide.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "customers.models.OrderStatus",
        "JobStatusEnum": "crm.models.Job.Status",
    },
}

# --- Celery ---------------------------------------------------------------------------------------
# Embedded default: kombu's filesystem transport under var/ (no server). Set CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes ./control in the working dir
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis re-delivers an unacked task after the visibility timeout; keep it above the longest task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None  # long work reports through the Job model
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True  # a task whose worker died is run again; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery's Django fixup closes the DB connection around every task unless this is set (docs/performance.md:
# 154 → 861 tasks/s). Connections are still health-checked (CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=200)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic work, in shop local time: each app registers its entries, with why they run when they do, in its
# AppConfig.ready() (crm.registry.register_beat); this scheduler adds them to anything listed here.
CELERY_BEAT_SCHEDULER = "crm.celery:AppsBeatScheduler"
CELERY_BEAT_SCHEDULE: dict = {}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Huike ----------------------------------------------------------------------------------------
HUIKE_SHOP_NAME = env("HUIKE_SHOP_NAME", default="回客演示店")

# A running Job whose worker sent no heartbeat for this long is stale: a redelivered task may take it over
# (imports are idempotent, so running one again is safe). Keep it well above the longest step between two
# progress updates (a 1M-row import's longest SQL statement takes well under a minute).
HUIKE_JOB_STALE_AFTER_SECONDS = env.int("HUIKE_JOB_STALE_AFTER_SECONDS", default=10 * 60)
# A stale job that no worker took over within this long is failed by beat (crm.tasks.jobs_fail_abandoned), with
# the reason on the job page. Longer than the stale threshold, so a redelivered task gets its chance first.
HUIKE_JOB_ABANDONED_AFTER_SECONDS = env.int("HUIKE_JOB_ABANDONED_AFTER_SECONDS", default=30 * 60)
# A job whose worker died this many times is not taken over again (it may be what kills the worker: memory).
HUIKE_JOB_MAX_CLAIMS = env.int("HUIKE_JOB_MAX_CLAIMS", default=3)
# A customer export of more rows than this runs as a Job (a file to download from the job page), not in the request.
HUIKE_EXPORT_IN_REQUEST_MAX_ROWS = env.int("HUIKE_EXPORT_IN_REQUEST_MAX_ROWS", default=20_000)

# Importing: on PostgreSQL a CSV export of at least this many bytes is imported set-based in SQL
# (customers/importing/staged/staging.py); smaller ones, Excel files and SQLite go row by row. 0 stages every CSV.
HUIKE_IMPORT_STAGE_MIN_BYTES = env.int("HUIKE_IMPORT_STAGE_MIN_BYTES", default=1 << 20)
# Hostile files: a workbook that unpacks to more than this many MB, or any export of more rows than this, is refused
# before it is read (a 5.7 MB .xlsx "zip bomb" once unpacked to 1 GB of sheet XML and ran for 18 minutes); a file
# stops being read after this many bad rows (those are listed; nothing after them is imported).
HUIKE_IMPORT_XLSX_MAX_UNPACKED_MB = env.int("HUIKE_IMPORT_XLSX_MAX_UNPACKED_MB", default=500)
HUIKE_IMPORT_MAX_ROWS = env.int("HUIKE_IMPORT_MAX_ROWS", default=2_000_000)
HUIKE_IMPORT_MAX_ERRORS_PER_FILE = env.int("HUIKE_IMPORT_MAX_ERRORS_PER_FILE", default=1000)

# Customer searches (HTML list and API) per user per minute: enough for a person, too few to walk through numbers.
HUIKE_SEARCH_LIMIT_PER_MINUTE = env.int("HUIKE_SEARCH_LIMIT_PER_MINUTE", default=30)
