"""Hand drawings to the Celery workers."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def drawing_enqueue(*, drawing_id: str) -> bool:
    """Send the predict task; False (and the drawing stays queued for the re-enqueuer) if the broker is down."""
    # Imported here: the task module imports the services, which call this.
    from webapp.drawings.tasks import drawings_predict_task

    try:
        drawings_predict_task.apply_async(args=[str(drawing_id)], retry=False)
    except Exception:  # kombu raises several connection error types; none may lose the drawing
        logger.warning("Broker unavailable: drawing %s stays queued for re-enqueue", drawing_id)
        return False
    return True


def drawing_explain_enqueue(*, drawing_id: str) -> bool:
    """Send the explain task (a saliency map for a drawing already answered); False if the broker is down."""
    from webapp.drawings.tasks import drawing_explain_task

    try:
        drawing_explain_task.apply_async(args=[str(drawing_id)], retry=False)
    except Exception:  # kombu raises several connection error types
        logger.warning("Broker unavailable: no explanation for drawing %s", drawing_id)
        return False
    return True
