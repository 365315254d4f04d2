"""The Celery worker's entry point (`celery -A worker.app worker`): the app is webapp's, plus process hooks."""
