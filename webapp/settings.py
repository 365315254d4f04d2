"""Inkwell's one settings module: everything comes from environment variables, with defaults that
run on a fresh machine (SQLite in var/, the embedded Redis that `webapp.core.embedded_redis` starts)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from webapp.core.embedded_redis import broker_url, embedded_redis_url
from webapp.core.secret_key import secret_key_load_or_create

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# The production profile (DJANGO_PRODUCTION=true): refuses to start without SECRET_KEY or with DEBUG, and
# turns on HTTPS only (redirect, HSTS, secure cookies), so that `manage.py check --deploy` is clean.
PRODUCTION = env.bool("DJANGO_PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_PRODUCTION=true refuses DEBUG=true.")
if env("SECRET_KEY", default=""):
    SECRET_KEY = env("SECRET_KEY")
elif PRODUCTION:
    raise ImproperlyConfigured("DJANGO_PRODUCTION=true needs SECRET_KEY (at least 50 random characters).")
else:  # a fresh machine: a random key made on first use and kept in var/secret_key (mode 0600)
    SECRET_KEY = secret_key_load_or_create(VAR_DIR / "secret_key")
# Old keys that still verify signatures (sessions, feedback tokens) after SECRET_KEY is rotated.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind a TLS-terminating proxy: the header it sets to "https" (e.g. X-Forwarded-Proto), so that Django
# knows a request was secure; only set it when that proxy always sets or strips the header.
if env("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + env("SECURE_PROXY_SSL_HEADER").upper().replace("-", "_"), "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers and compose health checks probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "webapp.core",
    "webapp.drawings",
    "webapp.modelversions",
    "webapp.page",
]

MIDDLEWARE = [
    # Outermost: every answer (and every log line of its request) gets a request id, and under /api/
    # every error, wherever it was made below, is answered in the API's error shape.
    "webapp.core.middleware.RequestIdMiddleware",
    "webapp.core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out client's login with 429.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy on every answer (django-csp): nothing from outside the site, and no inline
# script or <style> without the answer's nonce. Inline style attributes are allowed (the admin's
# thumbnails and bars use them; they cannot run code); the drawing page replaces that with 'none'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Failed admin logins are counted per client IP (django-axes, in the database: SQLite or PostgreSQL);
# after AXES_FAILURE_LIMIT of them the client may not log in for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
# The same client address as the API's throttles: X-Forwarded-For only from TRUSTED_PROXIES.
AXES_CLIENT_IP_CALLABLE = "webapp.core.clients.client_ip"

# Proxies (IPs or CIDRs) whose X-Forwarded-For is believed; empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

ROOT_URLCONF = "webapp.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'inkwell.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
# A connection that a database restart or pg_terminate_backend broke is replaced before it is used
# (a round trip per request or task). The prediction worker turns this off (`webapp/run.py`,
# docker-compose.yml): a batch whose connection broke is retried, drawing by drawing, on a new one.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.int("DB_POOL_MAX_SIZE", default=20):
    # A bounded pool per process (psycopg_pool) instead of a connection per thread: long polls give
    # theirs back while they wait, so hundreds of them hold a few connections, never the server's all.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django requires it with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DB_POOL_MAX_SIZE", default=20),
        "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=10),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool(
    "DB_SYNCHRONOUS_COMMIT", default=True
):
    # The prediction worker's writes (the claim, the answer) commit without waiting for the WAL flush
    # (`webapp/run.py`): visible to every reader at once, durable within PostgreSQL's wal_writer_delay. A
    # server crash inside that window loses at most a claim or an answer, never a drawing (the web's
    # INSERT keeps the flush), and the requeue sweep runs such a job again.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)  # the default SQLite file lives here on a fresh clone
    # The worker is another process: tests need a file database both can open, and concurrent
    # writers need WAL and a busy timeout instead of "database is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-inkwell.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# WhiteNoise serves app static files straight from the finders too (no collectstatic in tests).
WHITENOISE_USE_FINDERS = True

# Uploads: the API refuses bodies over this with 413 before reading them in full.
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# The largest request body (base64 of the largest image, 2 MB, plus strokes), and how much of a larger
# one is read and discarded before the 413, so that clients that do not wait for 100-continue see it.
API_MAX_BODY_BYTES = 2 * 1024 * 1024 * 4 // 3 + 256 * 1024
API_DRAIN_MAX_BYTES = env.int("API_DRAIN_MAX_BYTES", default=16 * 1024 * 1024)
# A body not complete this many seconds after its headers is answered 408 (webapp.core.asgi_body).
REQUEST_BODY_TIMEOUT_SECONDS = env.float("REQUEST_BODY_TIMEOUT_SECONDS", default=20.0)
# Django's threads per web process (webapp/asgi.py): requests being handled or waiting for a drawing.
WEB_THREADS = env.int("WEB_THREADS", default=256)
# Requests of one web process that may wait for a drawing at once (`?wait`); a wait beyond answers at
# once with the drawing as it stands, so waiting requests never take the threads everything else needs.
LONG_POLL_MAX_WAITING = env.int("LONG_POLL_MAX_WAITING", default=max(WEB_THREADS - 32, 1))

# Prometheus metrics: every web and worker process writes its own files here, /metrics adds them up.
# It must be set before prometheus-client is imported, so it is set here, in the environment.
METRICS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "metrics")))
METRICS_DIR.mkdir(parents=True, exist_ok=True)

# Without REDIS_URL, the checkout's own embedded server on a unix socket in var/redis/ (webapp.run starts it).
REDIS_URL = env("REDIS_URL", default=embedded_redis_url(VAR_DIR / "redis"))

REST_FRAMEWORK = {
    # JSON only: every answer under /api/ is JSON (the interactive docs are at /api/docs/).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "webapp.core.parsers.BoundedJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "EXCEPTION_HANDLER": "webapp.core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "webapp.core.schema.InkwellAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "submit": env("THROTTLE_SUBMIT", default="6000/min"),
        "read": env("THROTTLE_READ", default="30000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inkwell API",
    "DESCRIPTION": "Draw a digit, get it read by a model, tell us what it really was.",
    "VERSION": "1.0.0",
    # Document the API, not the schema endpoint itself.
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Drawings still queued (or running) after this many seconds are enqueued again.
REQUEUE_AFTER_SECONDS = env.int("REQUEUE_AFTER_SECONDS", default=30)
# How often the sweep looks for stranded drawings.
REQUEUE_SWEEP_SECONDS = env.float("REQUEUE_SWEEP_SECONDS", default=5.0)
# Hard time limit of a prediction job (the soft limit is 5 s earlier).
TASK_TIME_LIMIT_SECONDS = env.int("TASK_TIME_LIMIT_SECONDS", default=60)
# Longest a client may hold a long poll open (?wait=N).
MAX_WAIT_SECONDS = 10
# /api/health/ costs about a second (it pings the workers): each web process computes it at most this often.
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=1.0)

# INFO (the default): start-up, one line per drawing answered, warnings and errors. DEBUG adds the loggers
# that speak on every task and every beat (a line each for the requeue sweep every few seconds).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
PER_EVENT_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "celery.beat", "axes")
# TensorFlow's start-up notices (its converter's deprecation advice) are not the operator's to act on.
LIBRARY_LOGGERS = ("tensorflow", "absl")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "webapp.core.request_ids.RequestIdFilter"}},
    "formatters": {"request": {"format": "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "request"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {}
    if LOG_LEVEL == "DEBUG"
    else {
        **{name: {"level": "WARNING"} for name in PER_EVENT_LOGGERS},
        **{name: {"level": "ERROR"} for name in LIBRARY_LOGGERS},
    },
}

# Celery (read by webapp/celery.py through the CELERY_ namespace).
# Redis is the broker; results live in the Drawing row, so no result backend is configured.
CELERY_BROKER_URL = broker_url(REDIS_URL)
# Nothing reads Celery's result state (PENDING also means "unknown"): don't write it.
CELERY_TASK_IGNORE_RESULT = True
# JSON only: a task's only argument is a drawing id.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Acknowledge after the job, so a killed worker's job is delivered again.
CELERY_TASK_ACKS_LATE = True
# ... and requeue it at once when the pool child dies mid-job (SIGKILL, OOM).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Prediction jobs run in batches (`webapp/drawings/batching.py`): the drawings that arrive while every
# pool process is busy. A worker reserves this many messages per pool process, which bounds a batch (with
# late acks, a larger reserve would hoard messages that another idle worker could run).
PREDICT_BATCH_SIZE = env.int("PREDICT_BATCH_SIZE", default=16)
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=PREDICT_BATCH_SIZE)
# A stuck job fails (soft limit, recorded as failed) and is then killed (hard limit).
CELERY_TASK_SOFT_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS - 5
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS
# Must exceed the hard time limit, or Redis redelivers a long job to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(300, 5 * TASK_TIME_LIMIT_SECONDS)}
# Fail fast when the broker is down at submit time: the drawing stays queued for the re-enqueuer.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Keep retrying the broker at worker start instead of exiting (Redis may start after the worker).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Children load the models after the fork (TensorFlow is not fork-safe); that takes a few seconds.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 60
# Prediction jobs and fine-tuning jobs never share a queue: predictions are the default queue,
CELERY_TASK_DEFAULT_QUEUE = "predict"
# ... and every fine-tuning task goes to the `training` queue, which only the training worker reads.
CELERY_TASK_ROUTES = {
    "webapp.modelversions.tasks.*": {"queue": "training"},
    "webapp.drawings.tasks.drawings_label_issues_task": {"queue": "training"},
}
# Re-enqueue drawings stranded by a broker outage or a lost worker, every few seconds: a dead
# worker's job runs again within a heartbeat's lifetime plus this period.
# Fine-tuning by itself (`webapp/modelversions/automatic.py`): a model is fine-tuned when this many trusted
# labels arrived since its serving version was trained, at most once per FINETUNE_AUTO_MIN_HOURS.
FINETUNE_AUTO = env.bool("FINETUNE_AUTO", default=True)
FINETUNE_AUTO_MIN_NEW_LABELS = env.int("FINETUNE_AUTO_MIN_NEW_LABELS", default=500)
FINETUNE_AUTO_MIN_HOURS = env.float("FINETUNE_AUTO_MIN_HOURS", default=24.0)
# How often the scheduler asks; a check not run within this time is dropped (the next one comes).
FINETUNE_AUTO_CHECK_SECONDS = env.float("FINETUNE_AUTO_CHECK_SECONDS", default=600.0)
# How often confident learning looks for wrong labels (webapp/drawings/services/label_issues.py).
LABEL_ISSUES_CHECK_SECONDS = env.float("LABEL_ISSUES_CHECK_SECONDS", default=3600.0)
# Fine-tuning leaves out the labels it suspects until a reviewer confirms them.
FINETUNE_SKIP_SUSPECTED_LABELS = env.bool("FINETUNE_SKIP_SUSPECTED_LABELS", default=True)
# The share of drawings (0-1, chosen by id) that a version in shadow answers besides the serving one.
SHADOW_SHARE = env.float("SHADOW_SHARE", default=1.0)
# A fine-tune that passes the gate serves at once ("now") or first answers in the shadow ("shadow") and is
# promoted by the shadow check (`webapp/modelversions/shadow_promotion.py`) when these figures allow.
FINETUNE_PROMOTE = env.str("FINETUNE_PROMOTE", default="now")
if FINETUNE_PROMOTE not in ("now", "shadow"):
    raise ImproperlyConfigured(f"FINETUNE_PROMOTE must be 'now' or 'shadow', not {FINETUNE_PROMOTE!r}.")
SHADOW_MIN_DRAWINGS = env.int("SHADOW_MIN_DRAWINGS", default=500)
SHADOW_MIN_AGREEMENT = env.float("SHADOW_MIN_AGREEMENT", default=0.9)
SHADOW_MIN_LABELLED = env.int("SHADOW_MIN_LABELLED", default=50)
SHADOW_CHECK_SECONDS = env.float("SHADOW_CHECK_SECONDS", default=300.0)
# Drift (webapp.drawings.drift): the last 24 hours against the usual days before them.
DRIFT_BASELINE_DAYS = env.int("DRIFT_BASELINE_DAYS", default=14)
DRIFT_MIN_DRAWINGS = env.int("DRIFT_MIN_DRAWINGS", default=200)
DRIFT_MIN_BASELINE_DAYS = env.int("DRIFT_MIN_BASELINE_DAYS", default=3)
DRIFT_SIGMAS = env.float("DRIFT_SIGMAS", default=3.0)
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-drawings": {
        "task": "webapp.drawings.tasks.drawings_requeue_stale_task",
        "schedule": REQUEUE_SWEEP_SECONDS,
    },
    "finetune-automatic": {
        "task": "webapp.modelversions.tasks.models_finetune_automatic_task",
        "schedule": FINETUNE_AUTO_CHECK_SECONDS,
        "options": {"expires": FINETUNE_AUTO_CHECK_SECONDS},
    },
    "shadow-check": {
        "task": "webapp.modelversions.tasks.models_shadow_check_task",
        "schedule": SHADOW_CHECK_SECONDS,
        "options": {"expires": SHADOW_CHECK_SECONDS},
    },
    "label-issues": {
        "task": "webapp.drawings.tasks.drawings_label_issues_task",
        "schedule": LABEL_ISSUES_CHECK_SECONDS,
        "options": {"expires": LABEL_ISSUES_CHECK_SECONDS},
    },
}
# Load every model in each pool child at start, so the first drawing is not slow.
WORKER_PRELOAD_MODELS = env.bool("WORKER_PRELOAD_MODELS", default=True)
# "Not a digit" decided by the serving versions of every model together (the mean of their margins,
# `inference.committee`), whichever model reads the digit; false lets each model decide alone.
NOT_A_DIGIT_COMMITTEE = env.bool("NOT_A_DIGIT_COMMITTEE", default=True)


# Fine-tuning on collected drawings.
FINETUNE_HOLDOUT_FRACTION = env.float("FINETUNE_HOLDOUT_FRACTION", default=0.3)
FINETUNE_SEED = env.int("FINETUNE_SEED", default=2026)
FINETUNE_MIN_DRAWINGS = env.int("FINETUNE_MIN_DRAWINGS", default=200)
FINETUNE_EPOCHS = env.int("FINETUNE_EPOCHS", default=6)
# Fine-tuning trusts staff and imported labels; the drawers' own answers (`user_label`, sent with the
# drawing's feedback token) only stand in for a missing label when this is on.
FINETUNE_TRUST_USER_LABELS = env.bool("FINETUNE_TRUST_USER_LABELS", default=False)
# A new version may lose at most this many points of MNIST test accuracy to be promoted.
FINETUNE_MNIST_MARGIN_POINTS = env.float("FINETUNE_MNIST_MARGIN_POINTS", default=0.2)
# One fine-tune of a model at a time: a Redis lock that the running fine-tune renews every third of this,
# so that one killed mid-way (SIGKILL, a lost machine) frees its model within this many seconds.
FINETUNE_LOCK_SECONDS = env.int("FINETUNE_LOCK_SECONDS", default=60)

# Admin review: predictions below this confidence count as "low confidence".
REVIEW_LOW_CONFIDENCE = env.float("REVIEW_LOW_CONFIDENCE", default=0.8)
# Admin grid review: drawings per page (the review order's first: answers and writers taking turns).
REVIEW_GRID_SIZE = env.int("REVIEW_GRID_SIZE", default=48)
