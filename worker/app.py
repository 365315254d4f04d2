"""The Celery app. Configured from Django settings (CELERY_*); tasks live in worker.tasks."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("inkwell", include=["worker.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
