"""What a worker process does around its tasks: load the models after the fork, report them to
/api/health/, and re-enqueue stranded drawings when it starts."""

from __future__ import annotations

import json
import logging
import os
import socket

import redis
from celery.signals import task_postrun, worker_process_init, worker_process_shutdown, worker_ready
from django.conf import settings

from inference import registry
from webapp.core.health import LOADED_KEY_PREFIX
from webapp.core.redis_connection import redis_client
from webapp.core.serving import serving_model

logger = logging.getLogger(__name__)

_reported: list[tuple[str, int]] = []


def _loaded_key() -> str:
    return f"{LOADED_KEY_PREFIX}{socket.gethostname()}:{os.getpid()}"


def _report_loaded_models() -> None:
    """Tell /api/health/ which models this pool child holds (the key expires if the child is killed)."""
    loaded = registry.loaded_models()
    try:
        redis_client().set(_loaded_key(), json.dumps([f"{name}:{version}" for name, version in loaded]), ex=3600)
    except redis.RedisError:
        logger.warning("Could not report loaded models to Redis")
        return
    _reported[:] = loaded


@worker_process_init.connect
def load_models_after_fork(**_: object) -> None:
    """Load the active version of every model in this pool child (after the fork, never before), fetching
    its files into this machine's MODEL_DIR first if they are not there."""
    if not settings.WORKER_PRELOAD_MODELS:
        return
    for name in registry.MODEL_NAMES:
        serving_model(name)
    _report_loaded_models()


@task_postrun.connect
def report_newly_loaded_models(**_: object) -> None:
    """A job that loaded another version (a promotion, a rollback) updates the report."""
    if registry.loaded_models() != _reported:
        _report_loaded_models()


@worker_process_shutdown.connect
def forget_loaded_models(**_: object) -> None:
    """A child that exits cleanly takes its entry out of /api/health/."""
    try:
        redis_client().delete(_loaded_key())
    except redis.RedisError:
        pass


@worker_ready.connect
def requeue_at_start(**_: object) -> None:
    """Drawings stranded while no worker ran are enqueued again as soon as one starts."""
    from webapp.drawings.tasks import drawings_requeue_stale_task

    drawings_requeue_stale_task.delay()
