"""Celery tasks of the drawings app: each takes an id, calls a service, leaves the result in the row."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from webapp.drawings.services import drawing_fail, drawing_predict, drawings_requeue_stale


@shared_task
def drawing_predict_task(drawing_id: str) -> None:
    """Preprocess the drawing, run its model, store the answer."""
    try:
        drawing_predict(drawing_id=drawing_id)
    except SoftTimeLimitExceeded:
        drawing_fail(drawing_id=drawing_id, code="timeout", message="The prediction took too long.")
    except Exception as exc:
        drawing_fail(drawing_id=drawing_id, code="internal_error", message=f"Prediction failed: {exc}")
        raise


@shared_task
def drawings_requeue_stale_task() -> int:
    """Periodic: enqueue again drawings stuck in queued (or in running on a lost worker)."""
    return drawings_requeue_stale()
