"""What a worker process does around its tasks: load the models after the fork, send heartbeats
(health and the requeue sweep read them), and re-enqueue stranded drawings when it starts."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown, worker_ready, worker_shutdown
from django.conf import settings

from inference import registry
from webapp.core import heartbeats, metrics
from webapp.core.serving import serving_model

logger = logging.getLogger(__name__)


def _loaded_models() -> list[str]:
    return [f"{name}:{version}" for name, version in registry.loaded_models()]


@worker_process_init.connect
def load_models_after_fork(**_: object) -> None:
    """Load the active version of every model in this pool child (after the fork, never before),
    fetching its files into this machine's MODEL_DIR first if they are not there; then beat every few
    seconds with the models it holds."""
    if settings.WORKER_PRELOAD_MODELS:
        for name in registry.MODEL_NAMES:
            began = time.perf_counter()
            model = serving_model(name)
            metrics.MODEL_LOAD.labels(name, str(model.version)).observe(time.perf_counter() - began)
    heartbeats.heartbeats_start(kind="process", name=heartbeats.process_key(), payload=_loaded_models)


@worker_process_shutdown.connect
def forget_process(**_: object) -> None:
    """A child that exits cleanly leaves health at once."""
    heartbeats.heartbeat_stop(kind="process", name=heartbeats.process_key())


@worker_ready.connect
def announce_consumer(sender: Any, **_: object) -> None:
    """The main process beats with the queues it consumes (health needs a live `predict` consumer),
    and drawings stranded while no worker ran are enqueued again at once."""
    from webapp.drawings.tasks import drawings_requeue_stale_task

    queues = sorted(sender.app.amqp.queues.consume_from)
    heartbeats.heartbeats_start(kind="consumer", name=sender.hostname, payload=queues)
    drawings_requeue_stale_task.delay()


@worker_shutdown.connect
def forget_consumer(sender: Any, **_: object) -> None:
    heartbeats.heartbeat_stop(kind="consumer", name=sender.hostname)
