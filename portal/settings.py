"""Settings for the network information portal.

Every setting comes from an environment variable with one safe development default;
production overrides them (see `.env.example` and `manage.py check --deploy`).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int = 0) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float = 0.0) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def database_config() -> dict:
    """DATABASE_URL wins; otherwise DB_* variables, defaulting to the local PostGIS."""
    url = env_str("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    else:
        config = {
            "NAME": env_str("DB_NAME", "portal"),
            "USER": env_str("DB_USER", "portal"),
            "PASSWORD": env_str("DB_PASSWORD", "portal"),
            "HOST": env_str("DB_HOST", "127.0.0.1"),
            "PORT": env_str("DB_PORT", "5433"),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        }
    # Always PostGIS, whatever scheme the URL used.
    config["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    # Prepared statements, for the vector tiles only (maps/tiles/cache.py runs them through a
    # server-side-binding cursor; Django's own queries bind on the client and are never
    # prepared). They run their generic plan: planning a tile statement takes longer than
    # serving a cached tile. Only prepared statements and PL/pgSQL (none of ours) use a plan
    # cache, so nothing else changes. DB_PREPARED_STATEMENTS=false turns them off, e.g. behind
    # a pgbouncer in transaction mode older than 1.21.
    options = config.setdefault("OPTIONS", {})
    if env_bool("DB_PREPARED_STATEMENTS", True):
        options["prepare_threshold"] = 0
        generic = "-c plan_cache_mode=force_generic_plan"
        options["options"] = f"{options.get('options', '')} {generic}".strip()
    config.setdefault("TEST", {})["NAME"] = env_str("DB_TEST_NAME", "") or None
    return config


SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.humanize",
    "captcha",
    "axes",
    "rest_framework",
    "knox",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "core",
    "portal",
    "accounts",
    "geo",
    "vnr",
    "network",
    "demand",
    "metering",
    "maps",
    "customers",
    "regulator",
    "capacity",
    "outages",
]

# Registration captcha: "simple" is self-hosted and works offline; "recaptcha" (Google) needs
# RECAPTCHA_PUBLIC_KEY and RECAPTCHA_PRIVATE_KEY and internet access from the users' browsers.
CAPTCHA_BACKEND = env_str("CAPTCHA_BACKEND", "simple")
if CAPTCHA_BACKEND == "recaptcha":
    INSTALLED_APPS.append("django_recaptcha")
    RECAPTCHA_PUBLIC_KEY = env_str("RECAPTCHA_PUBLIC_KEY")
    RECAPTCHA_PRIVATE_KEY = env_str("RECAPTCHA_PRIVATE_KEY")
CAPTCHA_TEST_MODE = env_bool("CAPTCHA_TEST_MODE", False)
CAPTCHA_LENGTH = 5
CAPTCHA_FONT_SIZE = 30

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Vector tiles answered here, past the middleware below (maps/tiles/middleware.py).
    "maps.tiles.middleware.TileShortcut",
    # Content-Security-Policy (CONTENT_SECURITY_POLICY below) and Permissions-Policy headers.
    "csp.middleware.CSPMiddleware",
    "core.middleware.PermissionsPolicy",
    # Before anything that queries: a NUL in a parameter, form or body is the client's 400,
    # not PostgreSQL's 500.
    "core.middleware.RejectUnstorableInput",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sessions of SEC, customer and staff accounts end after SESSION_IDLE_MINUTES idle.
    "accounts.middleware.IdleSessionTimeout",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: it answers repeated failed logins with the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes), two limits within AXES_COOLOFF_MINUTES: AXES_FAILURE_LIMIT
# failures for one username from one address lock that pair; LOGIN_FAILURES_PER_ADDRESS
# failures from one address, whatever the usernames, lock the address. Axes compares every
# set of AXES_LOCKOUT_PARAMETERS with the one AXES_FAILURE_LIMIT (a callable limit is not told
# which set it is checked against), so ["ip_address", [...]] would lock an address after five
# failures in all. The address limit is instead a check of our handler on axes' own
# AccessAttempt rows (accounts/services.py, LoginThrottle): it runs in AxesStandaloneBackend,
# before ModelBackend hashes any password, and needs no other library or cache.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.services.LoginThrottle"
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_LOCKOUT_CALLABLE = "accounts.services.lockout_response"
AXES_RESET_ON_SUCCESS = True

# Django's database sessions, loaded with plain SQL (see accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "network:search"
LOGOUT_REDIRECT_URL = "landing"

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "es-cl"
# Spanish (Chile) only until the interface has an English translation: with LocaleMiddleware,
# an English browser would get Django's own texts in English among ours in Spanish.
LANGUAGES = [("es-cl", "Español (Chile)")]
TIME_ZONE = env_str("TIME_ZONE", "America/Santiago")
USE_I18N = True
FORMAT_MODULE_PATH = ["portal.formats"]  # es_CL: dates typed as 02-03-2026 are accepted too
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# Generated feeder plans (KMZ) live here, outside the static files.
KMZ_DIR = Path(env_str("KMZ_DIR", str(BASE_DIR / "data" / "kmz")))
# import_network: an update that would move a stored asset farther than this (metres) is
# refused unless --permitir-movimientos is given.
IMPORT_MAX_MOVE_M = env_int("IMPORT_MAX_MOVE_M", 500)
# CIS billing PDFs (invoices, injection annexes, EG contract documents): private files, never
# under STATIC_ROOT or MEDIA_ROOT (import_billing refuses to run if they are).
BILLING_DIR = Path(env_str("BILLING_DIR", str(BASE_DIR / "data" / "billing")))
# Files uploaded in the admin to import (core.ImportJob) and their reports: private too.
IMPORT_UPLOAD_DIR = Path(env_str("IMPORT_UPLOAD_DIR", str(BASE_DIR / "data" / "importaciones")))
# Largest file the admin's import form takes (a zipped Shapefile or GeoPackage of a feeder
# set; readings files), and what a zip may expand to.
IMPORT_UPLOAD_MAX_MB = env_int("IMPORT_UPLOAD_MAX_MB", 200)
# The regulator data service (§6, regulator/): batches for SEC are files here (private).
REGULATOR_BATCH_DIR = Path(env_str("REGULATOR_BATCH_DIR", str(BASE_DIR / "data" / "regulador")))
REGULATOR_PAGE_RECORDS = env_int("REGULATOR_PAGE_RECORDS", 100_000)  # lines per page
REGULATOR_KEEP_DAYS = env_int("REGULATOR_KEEP_DAYS", 30)  # change rows after SEC's ack
# Push to SEC's endpoint (empty: SEC pulls). The token goes as "Authorization: Bearer".
REGULATOR_PUSH_URL = env_str("REGULATOR_PUSH_URL", "")
REGULATOR_PUSH_TOKEN = env_str("REGULATOR_PUSH_TOKEN", "")
REGULATOR_PUSH_TIMEOUT = env_float("REGULATOR_PUSH_TIMEOUT", 60.0)  # seconds per request
REGULATOR_PUSH_BACKOFF = env_float("REGULATOR_PUSH_BACKOFF", 60.0)  # first retry, doubling
REGULATOR_PUSH_BACKOFF_MAX = env_float("REGULATOR_PUSH_BACKOFF_MAX", 6 * 3600.0)
REGULATOR_PUSH_ALARM_AFTER = env_int("REGULATOR_PUSH_ALARM_AFTER", 5)  # failed attempts
# When the daily cut runs (local time; Celery beat, django-celery-beat).
REGULATOR_CUT_HOUR = env_int("REGULATOR_CUT_HOUR", 2)
# Short circuit and indicative hosting capacity (capacity/, docs/capacity.md).
CAPACITY_VOLTAGE_RISE_PCT = env_float("CAPACITY_VOLTAGE_RISE_PCT", 3.0)  # caused by the plant
CAPACITY_VOLTAGE_MAX_PCT = env_float("CAPACITY_VOLTAGE_MAX_PCT", 5.0)  # above nominal, anywhere
CAPACITY_BUSBAR_VOLTAGE_PU = env_float("CAPACITY_BUSBAR_VOLTAGE_PU", 1.0)
CAPACITY_LOAD_POWER_FACTOR = env_float("CAPACITY_LOAD_POWER_FACTOR", 0.95)
CAPACITY_CATCH_UP_HOUR = env_int("CAPACITY_CATCH_UP_HOUR", 3)
CAPACITY_FULL_WEEKDAY = env_int("CAPACITY_FULL_WEEKDAY", 0)  # 0 = Sunday (cron)
# A run older than this, or one that failed, raises the planners' alarm and the pages' banner.
CAPACITY_MAX_AGE_HOURS = env_int("CAPACITY_MAX_AGE_HOURS", 36)
# VEE (metering/services/vee.py): validation thresholds and estimation limits.
VEE_SPIKE_FACTOR = env_float("VEE_SPIKE_FACTOR", 10.0)  # times the channel's median
VEE_SPIKE_MIN_KWH = env_float("VEE_SPIKE_MIN_KWH", 1.0)  # per interval
VEE_FLAT_INTERVALS = env_int("VEE_FLAT_INTERVALS", 8)  # identical non-zero values in a row
VEE_CLOCK_TOLERANCE_SECONDS = env_int("VEE_CLOCK_TOLERANCE_SECONDS", 60)
VEE_INTERPOLATION_MAX_INTERVALS = env_int("VEE_INTERPOLATION_MAX_INTERVALS", 4)
VEE_LIKE_DAYS_WEEKS = env_int("VEE_LIKE_DAYS_WEEKS", 4)
# A main meter's gaps take its backup meter's valid values first (method "backup").
VEE_BACKUP_SUBSTITUTE = env_bool("VEE_BACKUP_SUBSTITUTE", True)
# Monitoring (metering/services/monitoring.py): balance and alarm thresholds.
METERING_LOSS_THRESHOLD_PCT = env_float("METERING_LOSS_THRESHOLD_PCT", 8.0)
METERING_VOLTAGE_NOMINAL_V = env_float("METERING_VOLTAGE_NOMINAL_V", 220.0)
METERING_VOLTAGE_BAND_PCT = env_float("METERING_VOLTAGE_BAND_PCT", 7.5)  # NTCyS, BT
METERING_HABIT_CHANGE_PCT = env_float("METERING_HABIT_CHANGE_PCT", 50.0)
METERING_HABIT_MIN_KWH = env_float("METERING_HABIT_MIN_KWH", 30.0)  # smaller months: no alarm
METERING_MISSING_INTERVALS = env_int("METERING_MISSING_INTERVALS", 8)  # per channel and day
# A day whose main and backup meters' energies differ by more than this is flagged.
METERING_BACKUP_DEVIATION_PCT = env_float("METERING_BACKUP_DEVIATION_PCT", 0.5)
# Quality of supply (outages/, docs/outages.md): interruptions, events, SAIDI / SAIFI.
OUTAGES_MIN_MINUTES = env_float("OUTAGES_MIN_MINUTES", 3.0)  # NTCD: longer than 3 minutes
OUTAGES_GROUP_TOLERANCE_MINUTES = env_float("OUTAGES_GROUP_TOLERANCE_MINUTES", 15.0)
OUTAGES_MISSING_INTERVALS = env_int("OUTAGES_MISSING_INTERVALS", 4)  # consecutive, no events
OUTAGES_INFERRED_MIN_METERS = env_int("OUTAGES_INFERRED_MIN_METERS", 2)  # of one transformer
OUTAGES_TRANSFORMER_SHARE = env_float("OUTAGES_TRANSFORMER_SHARE", 0.5)  # of its meters
# Rejection reports of ingest_readings (one CSV per run).
METERING_REPORTS_DIR = Path(
    env_str("METERING_REPORTS_DIR", str(BASE_DIR / "data" / "reports" / "lecturas"))
)

# Base layer of every map (an XYZ URL template). Empty: no base layer, nothing leaves
# the server, which is what the tests and an offline installation need.
MAP_BASE_LAYER_URL = env_str("MAP_BASE_LAYER_URL", "")
MAP_BASE_LAYER_ATTRIBUTION = env_str("MAP_BASE_LAYER_ATTRIBUTION", "")

# Where the real third-party data sets live (tests, imports, bench); never copied in.
SHARED_DATA_DIR = Path(env_str("SHARED_DATA_DIR", str(BASE_DIR.parent / "shared" / "data")))

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")

# Production hardening: defaults suit development on http://127.0.0.1:8000.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts and styles only from our static files; the one
# inline script and the one inline style left, both on drf-spectacular's Swagger UI page
# (templates/drf_spectacular), carry a nonce, which is in the header only on responses that
# use it (Django's admin writes a <style> only for a list with actions_on_top and
# actions_on_bottom both off, which no admin of ours sets). JSON blocks (`json_script`,
# type="application/json") are not executed and need nothing. style="..." attributes in HTML
# are refused (style-src-attr falls back to style-src); styles that Leaflet, OpenLayers and
# Swagger UI set from script (CSSOM) are not restricted.


def tile_origin(url: str) -> str:
    """The origin of an XYZ URL template for img-src; a subdomain placeholder ({s}, {a-c})
    becomes a wildcard."""
    parts = urlsplit(url)
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    return f"{parts.scheme}://{host}"


_CSP_IMG_SRC = [SELF, "data:", "blob:"]
if MAP_BASE_LAYER_URL:
    _CSP_IMG_SRC.append(tile_origin(MAP_BASE_LAYER_URL))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-elem": [SELF, NONCE],
        "img-src": _CSP_IMG_SRC,
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Permissions-Policy (core.middleware.PermissionsPolicy): browser features no page uses (the
# map measures distances between clicked points; nothing asks for the user's location).
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
)
# Accounts of SEC, customers (client, EG) and staff: the session cookie ends with the browser
# and the session after this many minutes without a request (accounts.middleware); public
# accounts keep Django's two-week session.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)

# REST API (network/api): session or token authentication, the same access rules as the pages.
# Tokens (django-rest-knox, `POST /api/token/`) expire: API_TOKEN_HOURS, shorter for the SEC
# profile, who reads customers' personal data; a password change or reset revokes them all.
API_TOKEN_HOURS = env_int("API_TOKEN_HOURS", 10)
API_TOKEN_HOURS_SEC = env_int("API_TOKEN_HOURS_SEC", 2)
REST_KNOX = {"TOKEN_TTL": timedelta(hours=API_TOKEN_HOURS), "AUTH_HEADER_PREFIX": "Token"}
REST_FRAMEWORK = {
    # The token first: its WWW-Authenticate header makes DRF answer 401 (not 403) to a request
    # with no login or with an expired token, so an API client knows to get a new one.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.PortalAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API de la red de distribución",
    "DESCRIPTION": "Subestaciones, alimentadores, vanos, postes, equipos y transformadores "
    "de distribución en GeoJSON (SEC, anexo 1).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from our static files (swagger-ui-dist from npm): the docs work offline.
    "SWAGGER_UI_DIST": STATIC_URL + "vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": STATIC_URL + "vendor/swagger-ui/favicon-32x32.png",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Celery: with no broker configured, tasks run in-process (eagerly) where they are called.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE  # crontab hours are local time
# Celery beat (`celery -A portal beat`, or a worker with -B): the schedule lives in the
# database (django-celery-beat); beat writes these entries there each time it starts, so they
# win over edits made in the admin. The pushes run every 15 minutes; a batch whose push failed
# waits for its own next_push_at (exponential backoff), which push_pending checks.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# A scheduled task not run this long after it was due is late (the planners' alarm).
TASKS_LATE_GRACE_MINUTES = env_int("TASKS_LATE_GRACE_MINUTES", 60)
# The alarms every page shows (tasks, capacity runs, SEC deliveries) are read at most once
# per process per this many seconds (portal/context_processors.py); 0 reads them each page.
ALARM_CACHE_SECONDS = env_int("ALARM_CACHE_SECONDS", 30)
METERING_DAILY_HOUR = env_int("METERING_DAILY_HOUR", 4)  # local time; the day before is done
CELERY_BEAT_SCHEDULE = {
    "Corte diario de lotes para la SEC": {
        "task": "regulator.tasks.cut_daily_batch",
        "schedule": crontab(hour=REGULATOR_CUT_HOUR, minute=0),
    },
    "Envío de lotes pendientes a la SEC": {
        "task": "regulator.tasks.push_batches",
        "schedule": timedelta(minutes=15),
    },
    "Capacidad: alimentadores pendientes": {
        "task": "capacity.tasks.catch_up",
        "schedule": crontab(hour=CAPACITY_CATCH_UP_HOUR, minute=30),
    },
    "Capacidad: recálculo semanal completo": {
        "task": "capacity.tasks.recompute_all",
        "schedule": crontab(
            hour=CAPACITY_CATCH_UP_HOUR, minute=0, day_of_week=CAPACITY_FULL_WEEKDAY
        ),
    },
}

# Server-side caches (rendered vector tiles are not here: they live in the geo_tilecache table,
# maps/tiles/cache.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}

# Debian 12 ships GDAL 3.6 (the stack is decided); only staff import spatial files.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
