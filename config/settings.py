"""Safar settings, read from the environment.

Development works with no variables set (SQLite, DEBUG on). Production is DEBUG=0 and then
SECRET_KEY and ALLOWED_HOSTS must be given; `manage.py check --deploy` is clean in that mode.
"""

import datetime
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_base_url, env_bool, env_choices, env_days_by_key, env_int, env_list, env_log_level, env_rate, env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is the development key; set a real one when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_fsm",
    "phonenumber_field",
    "import_export",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "movements",
    "orientation",
    "travel",
    "exchange",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "movements.middleware.SecurityHeadersMiddleware",  # CSP, Permissions-Policy; nothing behind log-in cached
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "movements.middleware.SessionBackendMiddleware",  # sessions from before movements.auth_backend carried over
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "movements.middleware.NulPathNotFoundMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "movements.middleware.DatabaseBusyMiddleware",  # a change the database stopped (deadlock, lock timeout): 503
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out log-in into the lockout page
]

ROOT_URLCONF = "config.urls"

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
                "movements.context_processors.access",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": parse_database_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3"), BASE_DIR)}

# Each process its own memory for what may be lost; the API's rate counts in the database, which every worker of
# the server shares (exchange/throttling.py; the table is made by exchange's migration 0004).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "safar_api_throttle"},
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Wait for a writer instead of failing at once when two requests write together.
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # The case list's indexes carry extra columns on PostgreSQL (INCLUDE); SQLite builds them without.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # No just-in-time compilation: it pays off for long analytical queries, not for a web page's short ones,
    # and a search over many people was estimated costly enough to spend 1.8 s compiling a 20 ms query.
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
    # Parameters bound on the server, so that a query a connection runs again is prepared (config/postgresql: a
    # query with more than 65,535 parameters is bound on the client). SAFAR_DB_PREPARED_STATEMENTS=0 turns this off,
    # e.g. behind a connection pooler that cannot keep prepared statements.
    if env_bool("SAFAR_DB_PREPARED_STATEMENTS", True):
        DATABASES["default"]["ENGINE"] = "config.postgresql"
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "start"  # each role lands on its work (movements.hooks.start_pages)
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection (django-axes): after SAFAR_LOGIN_FAILURE_LIMIT failed log-ins for one user name, or from
# one address, further log-ins (the right password included) are refused for SAFAR_LOGIN_COOLOFF_MINUTES.
# An administrator unlocks early in the admin (Axes › Access attempts) or with `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out request before any password is checked
    # Django's ModelBackend, reading the user's roles and permissions with the user (one query, not two, a page).
    "movements.auth_backend.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SAFAR_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("SAFAR_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Each parameter locks on its own: a user name from any address, an address whatever the user name. Offices behind
# one shared address can set SAFAR_LOGIN_LOCKOUT_BY=username or username+ip_address (the two together).
_LOCKOUT_BY = {"username": "username", "ip_address": "ip_address", "username+ip_address": ["username", "ip_address"]}
AXES_LOCKOUT_PARAMETERS = [
    _LOCKOUT_BY[choice] for choice in env_choices("SAFAR_LOGIN_LOCKOUT_BY", ["username", "ip_address"], _LOCKOUT_BY)
]
AXES_RESET_ON_SUCCESS = True  # a successful log-in forgets that user's earlier typos
# Failures while locked out do not push the end of the lockout further: the page can say when to try again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "movements.login_lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "movements.login_lockout.client_address"
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "Asia/Dushanbe")
# The interface is in English only (names are shown in their own scripts, which needs no translation machinery).
# Off, Django skips the active-language lookups that every number, date and {% url %} on a page made: about 3 % of
# the case page's time (bench/load.py). Dates and numbers keep Django's English formats.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The PDFs' fonts, also served to pages (/static/fonts/…): a device without an Arabic font that has Pashto's
# letters still shows every name in its own script (safar.css, `.native`).
STATICFILES_DIRS = [BASE_DIR / "static", ("fonts", BASE_DIR / "movements" / "fonts")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploads (referral files): refuse anything larger than this before reading it.
SAFAR_MAX_UPLOAD_BYTES = env_int("SAFAR_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
SAFAR_MAX_IMPORT_ROWS = env_int("SAFAR_MAX_IMPORT_ROWS", 100_000, minimum=1)
# A previewed referral file not confirmed within this many hours expires (its file is deleted).
SAFAR_IMPORT_PREVIEW_HOURS = env_int("SAFAR_IMPORT_PREVIEW_HOURS", 24, minimum=1)
# An XLSX upload is a ZIP archive: the most its parts may unpack to (a ZIP bomb is refused before it is read).
SAFAR_MAX_XLSX_UNPACKED_BYTES = env_int("SAFAR_MAX_XLSX_UNPACKED_BYTES", 100 * 1024 * 1024, minimum=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = SAFAR_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# django-import-export (the admin's case export): only users who may view cases. Formulas are neutralised by the
# resources (movements.spreadsheets: a leading quote); import-export's own escaping only drops a leading "=".
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False

# The read-only status API (exchange/api.py): tokens per user, session log-in for the browsable pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["exchange.throttling.UserRateThrottle"],  # counted across the server's workers
    "DEFAULT_THROTTLE_RATES": {"user": env_rate("SAFAR_API_THROTTLE", "600/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Safar status API",
    "DESCRIPTION": "Per-person resettlement status for partners (UNHCR): the rows of the status export, as JSON.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Signed in first: an anonymous visitor gets 401/403, as from the API itself.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "exchange.access.MayExportStatus"],
    # The documentation pages are served from the app itself (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# An XLSX export is built in memory up to this size, then on disk.
SAFAR_EXPORT_SPOOL_BYTES = env_int("SAFAR_EXPORT_SPOOL_BYTES", 16 * 1024 * 1024, minimum=1024)

PHONENUMBER_DEFAULT_REGION = env_str("PHONENUMBER_DEFAULT_REGION", "TJ")
PHONENUMBER_DB_FORMAT = "E164"

# `seed_demo` makes users whose password is public and a made-up caseload: it runs where DEBUG is on, and with DEBUG
# off only where SAFAR_DEMO_DATA=1 says so (a training server). It never mixes its families into real ones.
SAFAR_DEMO_DATA = env_bool("SAFAR_DEMO_DATA", DEBUG)

# Domain settings (DOMAIN.md): defaults, not laws.
SAFAR_CASE_NUMBER_PREFIX = env_str("SAFAR_CASE_NUMBER_PREFIX", "DYU")
SAFAR_CASES_PER_PAGE = env_int("SAFAR_CASES_PER_PAGE", 50, minimum=5)
SAFAR_IME_VALIDITY_MONTHS = env_int("SAFAR_IME_VALIDITY_MONTHS", 12, minimum=1)
# The dashboard's "flies in the next N days and blocked" (the morning question of operations).
SAFAR_FLIES_SOON_DAYS = env_int("SAFAR_FLIES_SOON_DAYS", 14, minimum=1)
SAFAR_FIT_TO_TRAVEL_HOURS = env_int("SAFAR_FIT_TO_TRAVEL_HOURS", 72, minimum=1)
# A passing pre-embarkation (fit-to-travel) check within those hours gates boarding (`depart`).
SAFAR_FIT_TO_TRAVEL_REQUIRED = env_bool("SAFAR_FIT_TO_TRAVEL_REQUIRED", True)
# Newborns under this many days old need medical clearance to fly (DOMAIN.md): a passing fit-to-travel check, even
# where the programme does not require the check of everyone.
SAFAR_NEWBORN_CLEARANCE_DAYS = env_int("SAFAR_NEWBORN_CLEARANCE_DAYS", 7, minimum=1)
# Airlines ask for the MEDIF 48–72 h before the flight (DOMAIN.md): a booked case's missing MEDIF says by when.
SAFAR_MEDIF_HOURS = env_int("SAFAR_MEDIF_HOURS", 72, minimum=1)
# Escorts mark passengers boarded or no-show from this many hours before the first leg leaves (a no-show marked
# days ahead by mistake would take a family off its flight).
SAFAR_BOARDING_OPENS_HOURS = env_int("SAFAR_BOARDING_OPENS_HOURS", 24, minimum=1)
SAFAR_SURVEILLANCE_DAYS = env_int("SAFAR_SURVEILLANCE_DAYS", 30, minimum=1)
SAFAR_PREGNANCY_CERTIFICATE_WEEKS = env_int("SAFAR_PREGNANCY_CERTIFICATE_WEEKS", 28, minimum=1)
# Airline practice (DOMAIN.md): the pregnancy certificate is issued within 72 h of the flight.
SAFAR_PREGNANCY_CERTIFICATE_HOURS = env_int("SAFAR_PREGNANCY_CERTIFICATE_HOURS", 72, minimum=1)
SAFAR_PREGNANCY_MAX_WEEKS = env_int("SAFAR_PREGNANCY_MAX_WEEKS", 36, minimum=1)
SAFAR_ORIENTATION_MIN_AGE = env_int("SAFAR_ORIENTATION_MIN_AGE", 13, minimum=0)
SAFAR_ORIENTATION_DAYS = env_int("SAFAR_ORIENTATION_DAYS", 3, minimum=1)
SAFAR_ORIENTATION_CAPACITY = env_int("SAFAR_ORIENTATION_CAPACITY", 25, minimum=1)
SAFAR_ORIENTATION_DESTINATIONS = env_list("SAFAR_ORIENTATION_DESTINATIONS", ["CAN"])
SAFAR_PREGNANCY_MAX_WEEKS_MULTIPLE = env_int("SAFAR_PREGNANCY_MAX_WEEKS_MULTIPLE", 32, minimum=1)
# Travel: passenger types on the journey's last day (IATA: infants under 2 sit on a lap, children 2–11, adults 12+),
# who may hold an infant, who travels as an unaccompanied minor, the shortest connection between two flights.
SAFAR_INFANT_AGE = env_int("SAFAR_INFANT_AGE", 2, minimum=1)
SAFAR_ADULT_AGE = env_int("SAFAR_ADULT_AGE", 12, minimum=2)
SAFAR_INFANT_COMPANION_MIN_AGE = env_int("SAFAR_INFANT_COMPANION_MIN_AGE", 16, minimum=12)
SAFAR_UNACCOMPANIED_MINOR_AGE = env_int("SAFAR_UNACCOMPANIED_MINOR_AGE", 18, minimum=1)
SAFAR_MIN_CONNECTION_MINUTES = env_int("SAFAR_MIN_CONNECTION_MINUTES", 60, minimum=0)
SAFAR_DEPARTURES_PER_PAGE = env_int("SAFAR_DEPARTURES_PER_PAGE", 20, minimum=5)
# The site's public address: the manifest's QR codes open each family on the boarding page there.
SAFAR_BASE_URL = env_base_url("SAFAR_BASE_URL", "http://127.0.0.1:8000")

# Data protection (privacy app): closed cases are anonymised this many days after they closed, per closing state;
# their medical details after the stricter of that and SAFAR_MEDICAL_RETENTION_DAYS (default: the shortest of the
# case periods). The access log and django-axes' log-in records are deleted after their own periods.
SAFAR_RETENTION_DAYS = env_days_by_key("SAFAR_RETENTION_DAYS", {"arrived": 730, "rejected": 365, "withdrawn": 365})
SAFAR_MEDICAL_RETENTION_DAYS = env_int("SAFAR_MEDICAL_RETENTION_DAYS", min(SAFAR_RETENTION_DAYS.values()), minimum=1)
SAFAR_ACCESS_LOG_DAYS = env_int("SAFAR_ACCESS_LOG_DAYS", 730, minimum=30)
SAFAR_LOGIN_RECORD_DAYS = env_int("SAFAR_LOGIN_RECORD_DAYS", 90, minimum=1)

# Security: strict in production, relaxed for the development server on plain HTTP.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
# A log-in ends when the browser closes (shared office computers), and after SESSION_COOKIE_AGE at the latest.
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
# Messages name families ("Case … booked", a person's name): they wait in the session, on the server, not in a
# signed cookie that anyone holding it (a shared computer's browser, a proxy's log) can read.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # A load balancer asks for the health check over plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind the TLS proxy, the client's address is the last one the proxy appended to X-Forwarded-For (the log-in
# lockout counts by address); otherwise it is the connection's.
SAFAR_CLIENT_ADDRESS_FROM_PROXY = not DEBUG and env_bool("BEHIND_TLS_PROXY", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_log_level("LOG_LEVEL", "WARNING")},
}
