"""The Celery app, laid out as Django's and Celery's guides do: configured from the `CELERY_*`
settings, tasks discovered in each app's `tasks.py`. `worker/` is only the worker's entry point."""

from __future__ import annotations

import os

from celery import Celery

from webapp.core.broker_transport import transport_register

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
transport_register()

app = Celery("inkwell")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
