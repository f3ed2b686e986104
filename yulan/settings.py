"""Yulan settings. Every value comes from the environment, with defaults that run locally
with nothing set: SQLite under var/, local-memory cache, e-mail to the console, tasks in the
database queue."""

from pathlib import Path
from typing import Any

import dj_database_url

from yulan.env import env, envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("YULAN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", False)
# Local runs with no secret get a fixed, obviously-unsafe one; production refuses to start without.
SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY:
    if not envbool("YULAN_ALLOW_INSECURE_KEY", True):
        raise RuntimeError("SECRET_KEY must be set")
    SECRET_KEY = "insecure-local-only-key-set-SECRET_KEY-in-production"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "django_tasks",
    "django_tasks_db",
    "yulan.core",
    "yulan.guide",
    "yulan.news",
    "yulan.events",
    "yulan.voice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "yulan.core.pagecache.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "yulan.core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "yulan.urls"
WSGI_APPLICATION = "yulan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "yulan" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "yulan.core.context_processors.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", "")
# WAL lets readers and one writer work side by side; IMMEDIATE makes a write transaction take
# the lock up front instead of failing half-way when another process wrote in between.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000; "
        "PRAGMA mmap_size=268435456; PRAGMA cache_size=-32768;"
    ),
}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(VAR_DIR / "yulan.sqlite3")),
            # Keep the connection between requests: opening one and running the pragmas
            # costs more than most pages' queries.
            "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 600),
            "CONN_HEALTH_CHECKS": True,
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The same options whether the file is named by SQLITE_PATH or by a sqlite:// DATABASE_URL.
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each process's own copy of the most-read public pages, in front of the shared cache.
CACHES["pages"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "pages",
    "OPTIONS": {"MAX_ENTRIES": envint("YULAN_PAGE_CACHE_LOCAL_ENTRIES", 2000)},
}

# --- background tasks -----------------------------------------------------------------------
TASKS = {"default": {"BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# --- accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "yulan.core.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "request_login_code": "20/m/ip,3/m/key",
}
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# --- e-mail ---------------------------------------------------------------------------------
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Yulan <no-reply@localhost>")
# The outbox (yulan/core/mail.py). Rows are claimed this many at a time; a claim is held for
# the lease, after which rows of a worker that died are sent by another. A temporary SMTP
# error is retried after RETRY_SECONDS, doubling each time, up to MAX_ATTEMPTS. RATE limits
# each delivering worker to so many messages a second (0: no limit); WORKERS is how many
# delivery tasks a large mailing is split across (run at least as many task workers).
YULAN_MAIL_BATCH = envint("YULAN_MAIL_BATCH", 50)
YULAN_MAIL_LEASE_SECONDS = envint("YULAN_MAIL_LEASE_SECONDS", 600)
YULAN_MAIL_RETRY_SECONDS = envint("YULAN_MAIL_RETRY_SECONDS", 60)
YULAN_MAIL_MAX_ATTEMPTS = envint("YULAN_MAIL_MAX_ATTEMPTS", 8)
YULAN_MAIL_RATE_PER_SECOND = envint("YULAN_MAIL_RATE_PER_SECOND", 0)
YULAN_MAIL_WORKERS = envint("YULAN_MAIL_WORKERS", 2)
# Outbox rows that are done (sent, failed, not sent) are deleted after this many days.
YULAN_MAIL_KEEP_DAYS = envint("YULAN_MAIL_KEEP_DAYS", 30)

# --- languages ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("ja", "日本語"),
    ("ko", "한국어"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("ru", "Русский"),
]
LOCALE_PATHS = [BASE_DIR / "yulan" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")

# --- static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# The site-wide CSS, scripts and vendored Leaflet live in yulan/static/ (yulan itself is no app).
STATICFILES_DIRS = [BASE_DIR / "yulan" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if envbool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded files (feedback photos) live outside the static folder and are served by views that
# check who may see them.
MEDIA_ROOT = Path(env("YULAN_MEDIA_DIR", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = envbool("WHITENOISE_USE_FINDERS", False)

# --- security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# Sessions are read from the cache (Redis when set) and written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("MAX_BODY_BYTES", 1_000_000)

# --- Yulan ----------------------------------------------------------------------------------
YULAN_SITE_NAME = env("YULAN_SITE_NAME", "Yulan")
YULAN_CITY = env("YULAN_CITY", "Shanghai")
YULAN_COUNTRY = env("YULAN_COUNTRY", "CN")
# Guide pages not reviewed for this many days are flagged for review.
YULAN_GUIDE_STALE_DAYS = envint("YULAN_GUIDE_STALE_DAYS", 180)
# Map tiles. The page works without them: the address and a list of places are always shown.
YULAN_MAP_TILE_URL = env("YULAN_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
YULAN_MAP_ATTRIBUTION = env("YULAN_MAP_ATTRIBUTION", "© OpenStreetMap contributors")
# Walking speed (metres a minute) and the ratio of walked route to straight line used to turn
# a walking time into a radius ("15-minute life circle").
YULAN_WALK_METRES_PER_MINUTE = envint("YULAN_WALK_METRES_PER_MINUTE", 80)
YULAN_WALK_DETOUR_PERCENT = envint("YULAN_WALK_DETOUR_PERCENT", 125)
YULAN_MAX_TEXT_CHARS = envint("YULAN_MAX_TEXT_CHARS", 50_000)
# Public pages shown to visitors without a session are kept this long in the cache (0: never).
# A change to public content retires them at once (with a shared cache, in every process).
YULAN_PAGE_CACHE_SECONDS = envint("YULAN_PAGE_CACHE_SECONDS", 300)
# How often a worker runs the periodic jobs (scheduled posts, mail retries, bulletins).
YULAN_PERIODIC_SECONDS = envint("YULAN_PERIODIC_SECONDS", 30)
# The weekly bulletin is compiled from the previous week's posts on this weekday (0 = Monday)
# at this hour, local time, as a draft for the editors.
YULAN_BULLETIN_WEEKDAY = envint("YULAN_BULLETIN_WEEKDAY", 0)
YULAN_BULLETIN_HOUR = envint("YULAN_BULLETIN_HOUR", 7)
# A subscription confirmation link is valid this many days.
YULAN_SUBSCRIBE_CONFIRM_DAYS = envint("YULAN_SUBSCRIBE_CONFIRM_DAYS", 7)
# Subscription requests accepted from one address per hour.
YULAN_SUBSCRIBE_PER_HOUR = envint("YULAN_SUBSCRIBE_PER_HOUR", 10)
# An event registration made with an e-mail address alone waits this long for its link to be
# opened; a place offered from the waiting list is held this long (at most until the start).
YULAN_EVENT_CONFIRM_HOURS = envint("YULAN_EVENT_CONFIRM_HOURS", 48)
YULAN_EVENT_OFFER_HOURS = envint("YULAN_EVENT_OFFER_HOURS", 24)
# Registrants are reminded this many hours before an event starts.
YULAN_EVENT_REMINDER_HOURS = envint("YULAN_EVENT_REMINDER_HOURS", 24)
# Event lists and pages show places left, which change without an edit: visitors without a
# session may see them this many seconds old (the registration form is always current).
YULAN_EVENT_PAGE_CACHE_SECONDS = envint("YULAN_EVENT_PAGE_CACHE_SECONDS", 15)
# Event registrations accepted from one network address per hour (0: no limit).
YULAN_EVENT_REGISTER_PER_HOUR = envint("YULAN_EVENT_REGISTER_PER_HOUR", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
# Feedback: the longest text accepted (Open311's limit), the largest photo, submissions accepted
# from one network address per hour, how long the same submission sent again is recognised as
# a repeat, how far (km) a located item may be from a community's centre to be given to it,
# the most items one bulk action may touch, and how long a "my data" link stays valid.
YULAN_FEEDBACK_MAX_CHARS = envint("YULAN_FEEDBACK_MAX_CHARS", 4000)
YULAN_FEEDBACK_PHOTO_MAX_BYTES = envint("YULAN_FEEDBACK_PHOTO_MAX_BYTES", 5_000_000)
YULAN_FEEDBACK_PER_HOUR = envint("YULAN_FEEDBACK_PER_HOUR", 20)
YULAN_FEEDBACK_DUPLICATE_HOURS = envint("YULAN_FEEDBACK_DUPLICATE_HOURS", 24)
YULAN_FEEDBACK_COMMUNITY_KM = envint("YULAN_FEEDBACK_COMMUNITY_KM", 5)
YULAN_FEEDBACK_BULK_MAX = envint("YULAN_FEEDBACK_BULK_MAX", 300)
YULAN_FEEDBACK_DATA_LINK_HOURS = envint("YULAN_FEEDBACK_DATA_LINK_HOURS", 24)
# The category points raised at roundtables are filed under when the organiser picks none.
YULAN_FEEDBACK_ROUNDTABLE_CATEGORY = env("YULAN_FEEDBACK_ROUNDTABLE_CATEGORY", "roundtable")
# Memory a feedback report's queries may use for sorting and joining on PostgreSQL (MB).
YULAN_FEEDBACK_REPORT_WORK_MEM_MB = envint("YULAN_FEEDBACK_REPORT_WORK_MEM_MB", 64)
# Open311: the jurisdiction_id this server answers to (empty: the parameter is ignored), and
# requests accepted per API key per hour (0: no limit).
YULAN_OPEN311_JURISDICTION = env("YULAN_OPEN311_JURISDICTION", "")
YULAN_OPEN311_POSTS_PER_HOUR = envint("YULAN_OPEN311_POSTS_PER_HOUR", 0)
