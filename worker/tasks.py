"""Celery tasks: each takes an id, calls a service, and leaves the result in the database."""

from __future__ import annotations

import json
import logging
import os
import socket

import redis
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.conf import settings

from inference import registry
from webapp.drawings.health import LOADED_KEY_PREFIX
from webapp.drawings.redis_connection import redis_client
from webapp.drawings.services import drawing_fail, drawing_predict, drawings_requeue_stale
from webapp.modelversions.selectors import model_version_active
from worker.app import app

logger = logging.getLogger(__name__)


def _loaded_key() -> str:
    return f"{LOADED_KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"


def _report_loaded_models() -> None:
    """Tell /api/health/ which models this pool child holds (the key expires if the child is killed)."""
    value = json.dumps([f"{name}:{version}" for name, version in registry.loaded_models()])
    try:
        redis_client().set(_loaded_key(), value, ex=3600)
    except redis.RedisError:
        logger.warning("Could not report loaded models to Redis")


@worker_process_shutdown.connect
def forget_loaded_models(**_: object) -> None:
    """A child that exits cleanly takes its entry out of /api/health/."""
    try:
        redis_client().delete(_loaded_key())
    except redis.RedisError:
        pass


@worker_process_init.connect
def load_models_after_fork(**_: object) -> None:
    """Load the active version of every model in this pool child (after the fork, never before)."""
    if not settings.WORKER_PRELOAD_MODELS:
        return
    for name in registry.MODEL_NAMES:
        registry.get_model(name, model_version_active(name))
    _report_loaded_models()


@worker_ready.connect
def requeue_at_start(**_: object) -> None:
    """Drawings stranded while no worker ran are enqueued again as soon as one starts."""
    drawings_requeue_stale_task.delay()


@app.task(name="worker.tasks.drawing_predict_task")
def drawing_predict_task(drawing_id: str) -> None:
    """Preprocess the drawing, run its model, store the answer."""
    before = set(registry.loaded_models())
    try:
        drawing_predict(drawing_id=drawing_id)
    except SoftTimeLimitExceeded:
        drawing_fail(drawing_id=drawing_id, code="timeout", message="The prediction took too long.")
    except Exception as exc:
        drawing_fail(drawing_id=drawing_id, code="internal_error", message=f"Prediction failed: {exc}")
        raise
    if set(registry.loaded_models()) != before:
        _report_loaded_models()


@app.task(name="worker.tasks.model_finetune_task", queue="training", acks_late=False)
def model_finetune_task(model_name: str, started_by: str) -> str:
    """Fine-tune a model on the collected drawings (runs on the `training` queue, never `predict`)."""
    from webapp.modelversions.services import model_version_finetune

    record = model_version_finetune(model_name=model_name, started_by=started_by)
    return record.decision


@app.task(name="worker.tasks.drawings_requeue_stale_task")
def drawings_requeue_stale_task() -> int:
    """Periodic: enqueue again drawings stuck in queued (or in running on a lost worker)."""
    return drawings_requeue_stale()
