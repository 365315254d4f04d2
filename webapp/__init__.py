"""Inkwell's Django project. The Celery app is loaded with it, so tasks bind to it (Celery's guide)."""

from webapp.celery import app as celery_app

__all__ = ("celery_app",)
