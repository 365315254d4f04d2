"""Inkwell's Celery worker: thin tasks that call the webapp services and the inference core."""
