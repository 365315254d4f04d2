"""Hand drawings to the Celery workers by task name (the web side never imports the tasks)."""

from __future__ import annotations

import logging

from worker.app import app

logger = logging.getLogger(__name__)

PREDICT_TASK = "worker.tasks.drawing_predict_task"


def drawing_enqueue(*, drawing_id: str) -> bool:
    """Send the predict task; False (and the drawing stays queued for the re-enqueuer) if the broker is down."""
    try:
        app.send_task(PREDICT_TASK, args=[str(drawing_id)], retry=False)
    except Exception:  # kombu raises several connection error types; none may lose the drawing
        logger.warning("Broker unavailable: drawing %s stays queued for re-enqueue", drawing_id)
        return False
    return True
