"""statusportal settings, read once from the environment (12-factor).

Every variable is listed with its default in ``.env.example``; ``tests/test_settings.py``
keeps the two in step. With nothing set the portal runs on embedded defaults: SQLite in
``var/``, a file-system Celery broker, mail written to ``var/mail/``, a local-memory cache.

One concern, kept in one module although it passes 400 lines: every setting and the
environment variable it comes from, so that one file answers "what can I configure".
"""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import get_random_string

from statusportal.env import (
    cache_config,
    email_config,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    env_time_zone,
    env_url,
)
from statusportal.leases import check_delivery_timing, soft_time_limit
from statusportal.mail import mail_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STATUSPORTAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, or a random one kept in ``var/secret_key`` so a
    local install survives restarts without anyone having to invent a key."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(get_random_string(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)

# --- The public page -------------------------------------------------------------------
STATUSPAGE_NAME = env_str("STATUSPAGE_NAME", "Statusportal")
STATUSPAGE_URL = env_url("STATUSPAGE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
STATUSPAGE_URL = STATUSPAGE_URL.rstrip("/")
STATUSPAGE_TIME_ZONE = env_time_zone("STATUSPAGE_TIME_ZONE", "UTC")
STATUSPAGE_LOGO_URL = env_str("STATUSPAGE_LOGO_URL")
# The page id of the Statuspage-compatible APIs (/api/v2 and the manage API at /v1/): set it
# to the id your Statuspage page had, so that scripts keep their URLs; empty: derived from
# STATUSPAGE_URL.
STATUSPAGE_PAGE_ID = env_str("STATUSPAGE_PAGE_ID")
if STATUSPAGE_PAGE_ID and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", STATUSPAGE_PAGE_ID):
    raise ImproperlyConfigured(
        "STATUSPAGE_PAGE_ID: use 1 to 64 letters, digits, '-' or '_' (a Statuspage page id)."
    )
# How long browsers (max-age) and shared caches/CDNs (s-maxage) may keep a public page.
STATUSPAGE_BROWSER_MAX_AGE = env_int("STATUSPAGE_BROWSER_MAX_AGE", 30, minimum=0)
STATUSPAGE_CDN_MAX_AGE = env_int("STATUSPAGE_CDN_MAX_AGE", 60, minimum=0)
# How long a web process reuses the content revision it read before asking the database
# again (in milliseconds); a write shows in other processes at most this much later.
STATUSPAGE_REVISION_TTL = env_int("STATUSPAGE_REVISION_TTL_MS", 1000, minimum=0) / 1000
# Rendered public pages kept in each web process's memory, on top of the shared cache.
STATUSPAGE_PROCESS_CACHE_BYTES = env_int("STATUSPAGE_PROCESS_CACHE_MB", 32, minimum=0) * 2**20
_public_url = urlsplit(STATUSPAGE_URL)
HTTPS = _public_url.scheme == "https"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [_public_url.hostname or "127.0.0.1", "127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", [f"{_public_url.scheme}://{_public_url.netloc}"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.syndication",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "statusportal",
    "components",
    "incidents",
    "subscriptions",
    "monitoring",
    "manageapi",
    "importer",
    "demo",
]

MIDDLEWARE = [
    # Times every request for /metrics, cache hits included (statusportal.metrics).
    "statusportal.metrics.RequestLatencyMiddleware",
    # Then: a cached public read is answered here, before anything below runs
    # (statusportal.frontcache).
    "statusportal.frontcache.FrontCacheMiddleware",
    # Next, so that it sees every error of an /api/ URL, whichever layer answered it.
    "statusportal.middleware.ApiErrorsAsJsonMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # ETag / 304 on /api/v1 reads, computed on the final content.
    "statusportal.api.conditional.ApiConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "statusportal.twofactor.AdminTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "statusportal.middleware.AdminTimeZoneMiddleware",
    # Last, so that it sees authentication results (django-axes requirement).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "statusportal.urls"
WSGI_APPLICATION = "statusportal.wsgi.application"

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
                "statusportal.context_processors.statuspage",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A committed `sent` mark must survive a database crash (the outbox's duplicate
    # bound, docs/architecture.md "The outbox"), whatever postgresql.conf says.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c synchronous_commit=on".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------------------
CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL") or "locmem://"
CACHES = {"default": cache_config(CACHE_URL)}
# Rate-limit counters (API throttles, sign-ups) must be shared by every process: the same
# Redis under its own prefix, or else the database (a table made by a migration), never a
# process's own memory. See statusportal.ratelimit.
if CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
    CACHES["ratelimit"] = {**cache_config(CACHE_URL), "KEY_PREFIX": "sp-rl"}
else:
    CACHES["ratelimit"] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "statusportal_ratelimit",
        "OPTIONS": {"MAX_ENTRIES": 100_000, "CULL_FREQUENCY": 4},
    }
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "statusportal.cache"

# --- Auth ------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "statusportal.loginlimit.AddressLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin brute-force protection: lock a username+address pair after repeated failures, and
# an address after ADMIN_LOGIN_FAILURES_PER_IP failures over any usernames (one password
# tried across many accounts; statusportal.loginlimit).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
ADMIN_LOGIN_FAILURES_PER_IP = env_int("ADMIN_LOGIN_FAILURES_PER_IP", 15, minimum=1)
# The client address comes from statusportal.clientip (TRUSTED_PROXIES), as for every limit.
AXES_CLIENT_IP_CALLABLE = "statusportal.clientip.lockout_address"
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# Operators sign in with a password and a TOTP code (statusportal.twofactor); on by
# default for an https page. Sessions (only the console has any) last ADMIN_SESSION_AGE.
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", HTTPS)
SESSION_COOKIE_AGE = env_int("ADMIN_SESSION_AGE", 12 * 3600, minimum=300)
OTP_TOTP_ISSUER = STATUSPAGE_NAME

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "statusportal.staticstorage.ManifestOrPlainStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email -----------------------------------------------------------------------------
# One description of the mail server (EMAIL_* names), turned into the settings of the
# running Django by statusportal.mail: EMAIL_* on 5.2, MAILERS on 6.1 and later.
EMAIL_URL = env_str("EMAIL_URL")
if EMAIL_URL:
    _mail_server = email_config(EMAIL_URL)
elif env_str("EMAIL_HOST"):
    _mail_server = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": env_str("EMAIL_HOST"),
        "EMAIL_PORT": env_int("EMAIL_PORT", 25, minimum=1),
        "EMAIL_HOST_USER": env_str("EMAIL_HOST_USER"),
        "EMAIL_HOST_PASSWORD": env_str("EMAIL_HOST_PASSWORD"),
        "EMAIL_USE_TLS": env_bool("EMAIL_USE_TLS", False),
        "EMAIL_USE_SSL": env_bool("EMAIL_USE_SSL", False),
    }
else:
    _mail_server = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(VAR_DIR / "mail"),
    }
if _mail_server["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _mail_server["EMAIL_TIMEOUT"] = env_int("EMAIL_TIMEOUT", 10, minimum=1)
globals().update(mail_settings(_mail_server))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{STATUSPAGE_NAME} <status@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: web, worker and beat exchange messages as files.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu would otherwise write them to ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than any send batch can take, so a slow batch is not redelivered while it runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
        "socket_timeout": 5,
        "socket_connect_timeout": 3,
        "retry_on_timeout": True,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_POOL_LIMIT = 10
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
# A task is acknowledged only once it finished; a worker that dies mid-task gives it back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Publishing must not hang a web request when the broker is down: give up quickly and let
# the sweeper re-enqueue from the outbox.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# A task is stopped (soft: an exception; hard: the pool process is killed) when it runs
# longer than this; a send batch's rows then come back through their lease.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 15 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = soft_time_limit(
    CELERY_TASK_TIME_LIMIT, _mail_server.get("EMAIL_TIMEOUT")
)
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000
# The sweeper's queue; every worker consumes it too (Procfile: -Q celery,outbox-sweep;
# the HTTP channels' worker -Q outbox-http,outbox-sweep).
CELERY_TASK_ROUTES = {"subscriptions.tasks.sweep": {"queue": "outbox-sweep"}}
CELERY_BEAT_SCHEDULE = {
    # Re-enqueue outbox events and deliveries left behind (broker outage, killed worker),
    # on a queue of its own (CELERY_TASK_ROUTES): never behind a backlog of send batches.
    "subscriptions-sweep": {
        "task": "subscriptions.tasks.sweep",
        "schedule": float(env_int("SUBSCRIPTIONS_SWEEP_INTERVAL", 15, minimum=1)),
    },
    # Maintenance: reminders, auto-start and auto-complete at the scheduled times.
    "subscriptions-maintenance": {
        "task": "subscriptions.tasks.run_maintenance_schedule",
        "schedule": 30.0,
    },
    # Heartbeat windows that passed in silence: noticed within this many seconds.
    "monitoring-heartbeats": {
        "task": "monitoring.tasks.check_heartbeats",
        "schedule": 15.0,
    },
}

# --- Subscriptions ---------------------------------------------------------------------
# How long a confirmation link stays valid.
SUBSCRIPTIONS_CONFIRM_MAX_AGE = env_int("SUBSCRIPTIONS_CONFIRM_MAX_AGE", 3 * 24 * 3600, minimum=60)
# Sign-up attempts allowed per hour from one client address and for one email address.
SUBSCRIPTIONS_RATE_PER_IP = env_int("SUBSCRIPTIONS_RATE_PER_IP", 20, minimum=1)
SUBSCRIPTIONS_RATE_PER_EMAIL = env_int("SUBSCRIPTIONS_RATE_PER_EMAIL", 3, minimum=1)
# Emails per send task (one SMTP connection each).
SUBSCRIPTIONS_BATCH_SIZE = env_int("SUBSCRIPTIONS_BATCH_SIZE", 100, minimum=1)
# A temporary SMTP failure (4xx) is retried after base * 2^(attempt-1) seconds, at most
# SUBSCRIPTIONS_MAX_ATTEMPTS times in all.
SUBSCRIPTIONS_RETRY_BASE_SECONDS = env_int("SUBSCRIPTIONS_RETRY_BASE_SECONDS", 60, minimum=1)
SUBSCRIPTIONS_MAX_ATTEMPTS = env_int("SUBSCRIPTIONS_MAX_ATTEMPTS", 8, minimum=1)
# Permanent failures (5xx) in a row after which a subscriber is quarantined.
SUBSCRIPTIONS_QUARANTINE_AFTER = env_int("SUBSCRIPTIONS_QUARANTINE_AFTER", 3, minimum=1)
# The sweeper re-enqueues events/rows pending this long.
SUBSCRIPTIONS_STALE_SECONDS = env_int("SUBSCRIPTIONS_STALE_SECONDS", 120, minimum=1)
# A send batch holds its rows for this long and renews the lease as it goes; the sweeper
# takes back rows whose lease ran out (a dead or frozen worker). See docs/architecture.md,
# 'The outbox'.
SUBSCRIPTIONS_LEASE_SECONDS = env_int("SUBSCRIPTIONS_LEASE_SECONDS", 30, minimum=5)
# Sending at the provider's pace (subscriptions.pacing): messages per second across all
# workers (0: as fast as the server accepts), SMTP connections open at once across all
# workers (0: no cap), and how long every sender holds back when the server answers 421,
# 451 or 454 ("slow down"). Shared through Redis; without it, per process.
SUBSCRIPTIONS_MAX_SEND_RATE = env_int("SUBSCRIPTIONS_MAX_SEND_RATE", 0, minimum=0)
SUBSCRIPTIONS_SMTP_CONNECTIONS = env_int("SUBSCRIPTIONS_SMTP_CONNECTIONS", 0, minimum=0)
SUBSCRIPTIONS_SLOW_DOWN_SECONDS = env_int("SUBSCRIPTIONS_SLOW_DOWN_SECONDS", 5, minimum=1)
# Deliveries waiting longer than this make /readyz answer 503 (0: never).
SUBSCRIPTIONS_LAG_ALERT_SECONDS = env_int("SUBSCRIPTIONS_LAG_ALERT_SECONDS", 0, minimum=0)
# The sweeper is "late" (admin warning) when it has not run for this long.
SUBSCRIPTIONS_SWEEP_LATE_SECONDS = env_int("SUBSCRIPTIONS_SWEEP_LATE_SECONDS", 120, minimum=1)
# Webhook, Slack and Teams: one POST may take this long in all (connect, send, answer;
# never more than one message's share of the lease); slower is a timeout, retried later.
# Requests in flight at once per send batch.
SUBSCRIPTIONS_HTTP_TIMEOUT = env_int("SUBSCRIPTIONS_HTTP_TIMEOUT", 10, minimum=1)
SUBSCRIPTIONS_HTTP_CONCURRENCY = env_int("SUBSCRIPTIONS_HTTP_CONCURRENCY", 32, minimum=1)
# Endpoints on loopback, private, link-local or metadata addresses are refused unless this
# is on (an intranet install; tests). See docs/architecture.md, 'Subscriptions'.
SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE = env_bool("SUBSCRIPTIONS_WEBHOOK_ALLOW_PRIVATE", False)
check_delivery_timing(
    lease=SUBSCRIPTIONS_LEASE_SECONDS,
    smtp_timeout=_mail_server.get("EMAIL_TIMEOUT"),
    time_limit=CELERY_TASK_TIME_LIMIT,
    visibility_timeout=CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout"),
)

# --- Monitoring ------------------------------------------------------------------------
# Payloads kept per integration (Alertmanager webhooks, heartbeats), newest first, for
# the admin's Automation page.
MONITORING_PAYLOADS_KEPT = env_int("MONITORING_PAYLOADS_KEPT", 200, minimum=1)
# How long a webhook or heartbeat waits for a row lock before answering 503 (the sender
# retries) instead of holding on (PostgreSQL).
MONITORING_LOCK_TIMEOUT_MS = env_int("MONITORING_LOCK_TIMEOUT_MS", 5000, minimum=1)

# --- Metrics ---------------------------------------------------------------------------
# /metrics answers a request carrying "Authorization: Bearer <METRICS_TOKEN>", or one from
# an address in METRICS_ALLOWED_NETWORKS (comma-separated CIDRs); 404 when neither is set.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS")

# --- REST framework --------------------------------------------------------------------
# Reads are public and throttled per address; writes need an API token (never a session
# cookie, so no CSRF) whose user holds the Django model permission, as in the admin.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "statusportal.api.schema.StatusportalAutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["statusportal.api.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "statusportal.api.permissions.ReadAnyoneWriteWithModelPermission"
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_FILTER_BACKENDS": [
        "statusportal.api.filters.StrictFilterBackend",
        "statusportal.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "statusportal.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # Bounded in size and nesting (statusportal.limits): a 413 or 400, never a 500.
    "DEFAULT_PARSER_CLASSES": ["statusportal.api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "statusportal.api.renderers.StyledBrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "statusportal.api.exceptions.exception_handler",
    # DRF's throttles counting the address from TRUSTED_PROXIES in the shared cache.
    "DEFAULT_THROTTLE_CLASSES": [
        "statusportal.api.throttling.AnonRateThrottle",
        "statusportal.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_ANON_THROTTLE_RATE", "600/minute"),
        "user": env_str("API_USER_THROTTLE_RATE", "6000/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "statusportal API",
    "DESCRIPTION": (
        "Current status and incident history for anyone; writes for operators with a token "
        "(`Authorization: Token <key>`). Times are ISO-8601 in UTC with milliseconds. "
        "The Statuspage-compatible JSON lives at `/api/v2/` (not described here)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "components.models.Component.Status",
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "IncidentImpactEnum": "incidents.models.Incident.Impact",
        "AlertStateEnum": "monitoring.api.serializers.STATES",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# CORS: any origin may read the public JSON; writes need a token, never cookies.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Idempotent-Replayed"]
# Only reads cross origins: a write is a script's business, not a third-party page's.
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]

# --- Security (check --deploy is clean when STATUSPAGE_URL is https) -------------------
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client: the
# address every limit counts (statusportal.clientip). Empty: the peer is the client.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
# The "preload" flag only allows a manual submission to browsers' preload list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts, styles, fonts and
# requests from this origin only; an inline <script> or <style> of ours carries the
# request's nonce (nonce="{{ CSP_NONCE }}"; public pages have none, so cached pages never
# hold a stale nonce). Images may also be data: URIs (Swagger UI's icons) and come from
# the origin of STATUSPAGE_LOGO_URL.
_logo = urlsplit(STATUSPAGE_LOGO_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *([f"{_logo.scheme}://{_logo.netloc}"] if _logo.netloc else [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging ---------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "statusportal.cache": {"level": "WARNING"},
    },
}
