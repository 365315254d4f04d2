"""The worker's entry point: `celery -A worker.app worker`. The app and its tasks are webapp's
(`webapp/celery.py`, each app's `tasks.py`); this adds what only a worker process does."""

from __future__ import annotations

from webapp.celery import app
from worker import lifecycle

__all__ = ["app", "lifecycle"]
