"""The worker's entry point: `celery -A worker.app worker`. The app and its tasks are webapp's
(`webapp/celery.py`, each app's `tasks.py`); this adds what only a worker process does."""

from __future__ import annotations

import os

# A prefork child runs one job at a time: it keeps one connection of its own and needs no pool
# (a psycopg pool in a Celery child hung on its connection check; the web's threads need the pool).
os.environ.setdefault("DB_POOL_MAX_SIZE", "0")

from webapp.celery import app  # noqa: E402 (the setting above must come first)
from worker import lifecycle

__all__ = ["app", "lifecycle"]
