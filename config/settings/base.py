"""Settings shared by every environment. Environment-specific files import * from here."""

from pathlib import Path

from config.env import database_from_env, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "serviceopus.core",
    "serviceopus.accounts",
    "serviceopus.customers",
    "serviceopus.crew",
    "serviceopus.jobs",
    "serviceopus.dispatch",
    "serviceopus.field",
    "serviceopus.closeout",
    "serviceopus.inventory",
    "serviceopus.billing",
    "serviceopus.messaging",
    "serviceopus.portal",
    "serviceopus.automation",
    "serviceopus.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "serviceopus.api.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "serviceopus" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "serviceopus.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": database_from_env(BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["serviceopus.accounts.backends.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "jobs:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "serviceopus" / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# The largest document or photo a user may upload (closeout/uploads.py); larger files are refused.
CLOSEOUT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# The API's Idempotency-Key reads the whole request body into memory to hash it, and Django refuses
# bodies over this size there (2.5 MB by default): one photo upload with a key must fit.
DATA_UPLOAD_MAX_MEMORY_SIZE = CLOSEOUT_MAX_UPLOAD_BYTES + 1024 * 1024

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; the cookie stays default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Portal link secrets must not reach a log: the development server logs every request line.
    "filters": {"portal_tokens": {"()": "serviceopus.portal.logging.MaskPortalTokens"}},
    "formatters": {"django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["portal_tokens"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["portal_tokens"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    # WeasyPrint reports every rendering step (and its stylesheets load at import) at INFO.
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

# Sign-in throttling: after this many failures per username or address within the window, refuse.
LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60

# The company shown on pages and documents.
COMPANY_NAME = env_str("COMPANY_NAME", "Northwind Home Services")
CURRENCY = "USD"

# Customer messaging (serviceopus/messaging). Email leaves through Django's email backend: files under
# var/mail by default, SMTP when EMAIL_BACKEND/EMAIL_HOST are set (production). SMS goes through the
# provider named here: the default only records each message (var/sms); HttpSmsProvider posts to
# SMS_HTTP_URL with SMS_HTTP_TOKEN.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_str("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_str("EMAIL_USE_TLS", "") == "1"
EMAIL_TIMEOUT = int(env_str("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Northwind Home Services <service@northwind.example>")
SMS_PROVIDER = env_str("SMS_PROVIDER", "serviceopus.messaging.channels.RecordingSmsProvider")
SMS_RECORD_PATH = env_str("SMS_RECORD_PATH", str(BASE_DIR / "var" / "sms"))
SMS_HTTP_URL = env_str("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("SMS_HTTP_TOKEN", "")
SMS_FROM = env_str("SMS_FROM", "+15550100")
# The outbox worker (messaging/delivery.py, `manage.py outbox_worker`): a claimed message whose worker
# died is claimed again when its lease runs out, so the lease must outlast the slowest send (EMAIL_TIMEOUT,
# the SMS provider's 10 s). Failures back off from OUTBOX_BACKOFF_SECONDS, doubling, up to
# OUTBOX_BACKOFF_MAX_SECONDS, until OUTBOX_MAX_ATTEMPTS; then the message is marked failed. A worker claims
# OUTBOX_BATCH messages at a time: small, so that a worker that dies holds few messages back.
OUTBOX_LEASE_SECONDS = int(env_str("OUTBOX_LEASE_SECONDS", "60"))
OUTBOX_MAX_ATTEMPTS = int(env_str("OUTBOX_MAX_ATTEMPTS", "8"))
OUTBOX_BATCH = int(env_str("OUTBOX_BATCH", "20"))
OUTBOX_BACKOFF_SECONDS = int(env_str("OUTBOX_BACKOFF_SECONDS", "30"))
OUTBOX_BACKOFF_MAX_SECONDS = int(env_str("OUTBOX_BACKOFF_MAX_SECONDS", "3600"))
# Portal tokens that match no usable link, per client address and minute, before 429.
PORTAL_TOKEN_FAILURE_LIMIT = 20
# The public address of the site, for links in emails and texts (portal links).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Automation (serviceopus/automation/worker.py): a workflow rule whose action fails is retried with the
# event, backing off from AUTOMATION_BACKOFF_SECONDS, doubling, up to AUTOMATION_BACKOFF_MAX_SECONDS,
# until AUTOMATION_MAX_ATTEMPTS; then the run is logged as given up (webhook deliveries have their own
# retry rule: automation/webhooks/delivery.py).
AUTOMATION_MAX_ATTEMPTS = int(env_str("AUTOMATION_MAX_ATTEMPTS", "6"))
AUTOMATION_BACKOFF_SECONDS = int(env_str("AUTOMATION_BACKOFF_SECONDS", "30"))
AUTOMATION_BACKOFF_MAX_SECONDS = int(env_str("AUTOMATION_BACKOFF_MAX_SECONDS", "3600"))

# Route planning (serviceopus/dispatch/planner/travel.py). Without PLANNER_OSRM_URL, travel is the
# straight-line distance × PLANNER_ROAD_FACTOR (roads are rarely straight; 1.3 is a common urban value)
# driven at PLANNER_SPEED_KMH on average, stops and lights included. With it, travel times and distances
# come from that OSRM server's table service, which must answer within PLANNER_OSRM_TIMEOUT seconds.
PLANNER_ROAD_FACTOR = float(env_str("PLANNER_ROAD_FACTOR", "1.3"))
PLANNER_SPEED_KMH = float(env_str("PLANNER_SPEED_KMH", "40"))
PLANNER_OSRM_URL = env_str("PLANNER_OSRM_URL", "")
PLANNER_OSRM_TIMEOUT = float(env_str("PLANNER_OSRM_TIMEOUT", "10"))
# How long "Plan day" searches (seconds): the first plan comes within a second or two, the rest of the
# time improves it.
PLANNER_TIME_LIMIT = float(env_str("PLANNER_TIME_LIMIT", "20"))
# Threads VROOM's stages of a planning run may use (the worker runs one plan at a time; PyVRP's stage
# uses one thread whatever this says).
PLANNER_THREADS = int(env_str("PLANNER_THREADS", "2"))
