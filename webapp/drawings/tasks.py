"""Celery tasks of the drawings app: each takes an id, calls a service, leaves the result in the row."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError, SoftTimeLimitExceeded
from celery_batches import SimpleRequest
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

from webapp.drawings.batching import PoolBatches
from webapp.drawings.services.explanations import ExplanationNotReady, drawing_explain
from webapp.drawings.services.label_issues import label_issues_find
from webapp.drawings.services.prediction import drawing_fail, drawing_predict, drawings_predict
from webapp.drawings.services.requeue import drawings_requeue_stale

logger = logging.getLogger(__name__)

# A database that drops connections, refuses new ones, or aborts a transaction (serialization
# failure, deadlock) is retried: such a failure lies in the service, never in the drawing.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)
MAX_DATABASE_RETRIES = 6


def retry_countdown(retries: int) -> float:
    """Seconds before the next attempt: 0.5, 1, 2, 4, 8, then 10 at most."""
    return float(min(0.5 * 2**retries, 10.0))


@shared_task(bind=True, max_retries=MAX_DATABASE_RETRIES)
def drawing_predict_task(self: Any, drawing_id: str) -> None:
    """Preprocess the drawing, run its model, store the answer."""
    try:
        drawing_predict(drawing_id=drawing_id)
    except TRANSIENT_DATABASE_ERRORS as exc:
        close_old_connections()  # the broken connection is replaced on the next query
        try:
            raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries))
        except MaxRetriesExceededError:
            # The row keeps its state; the requeue sweep takes the drawing again later.
            logger.error("Database unavailable for drawing %s after %d retries", drawing_id, self.max_retries)
    except SoftTimeLimitExceeded:
        drawing_fail(drawing_id=drawing_id, code="timeout", message="The prediction took too long.")
    except Exception:
        # The client learns only that it failed and the reference; the log has the traceback.
        reference = uuid.uuid4().hex[:12]
        logger.exception("Prediction of drawing %s failed (reference %s)", drawing_id, reference)
        drawing_fail(
            drawing_id=drawing_id, code="internal_error", message=f"The prediction failed (reference {reference})."
        )
        raise


@shared_task(base=PoolBatches, flush_every=settings.PREDICT_BATCH_SIZE, flush_interval=0.05)
def drawings_predict_task(requests: list[SimpleRequest]) -> None:
    """Run a batch of drawings (`drawing_enqueue` sends one message per drawing; the worker batches them).

    A drawing of the batch whose job cannot finish is failed alone; a database error sends each drawing
    of the batch to `drawing_predict_task`, which retries it with backoff.
    """
    drawing_ids = _drawing_ids(requests)
    if not drawing_ids:
        return
    try:
        drawings_predict(drawing_ids=drawing_ids)
    except TRANSIENT_DATABASE_ERRORS:
        close_old_connections()
        logger.warning("Database error in a batch of %d drawings: each is retried alone", len(drawing_ids))
        for drawing_id in drawing_ids:
            drawing_predict_task.apply_async(args=[drawing_id], countdown=retry_countdown(0))
    except SoftTimeLimitExceeded:
        for drawing_id in drawing_ids:
            drawing_fail(drawing_id=drawing_id, code="timeout", message="The prediction took too long.")
    except Exception:
        reference = uuid.uuid4().hex[:12]
        logger.exception("Prediction of drawings %s failed (reference %s)", drawing_ids, reference)
        for drawing_id in drawing_ids:
            drawing_fail(
                drawing_id=drawing_id,
                code="internal_error",
                message=f"The prediction failed (reference {reference}).",
            )


def _drawing_ids(requests: list[SimpleRequest]) -> list[str]:
    """The batch's drawing ids. A message whose argument is not one (only this project sends these, so
    a corrupt one) is logged and dropped, never failing the drawings it was batched with."""
    drawing_ids = []
    for request in requests:
        try:
            drawing_ids.append(str(uuid.UUID(str(request.args[0]))))
        except (ValueError, IndexError, TypeError):
            logger.error("Dropped predict message %s: its argument %r is not a drawing id", request.id, request.args)
    return drawing_ids


# An explanation asked for while the answer runs waits for it: 0.5 s apart, for up to the time limit.
EXPLAIN_RETRY_SECONDS = 0.5
MAX_EXPLAIN_RETRIES = 120


@shared_task(bind=True, max_retries=MAX_EXPLAIN_RETRIES)
def drawing_explain_task(self: Any, drawing_id: str) -> None:
    """Compute the saliency map of an answered drawing and store it."""
    try:
        drawing_explain(drawing_id=drawing_id)
    except (ExplanationNotReady, *TRANSIENT_DATABASE_ERRORS) as exc:
        close_old_connections()
        try:
            raise self.retry(exc=exc, countdown=EXPLAIN_RETRY_SECONDS)
        except MaxRetriesExceededError:
            logger.error("No explanation for drawing %s: its answer never came", drawing_id)


@shared_task
def drawings_requeue_stale_task() -> int:
    """Periodic: enqueue again drawings stuck in queued (or in running on a lost worker)."""
    return drawings_requeue_stale()


@shared_task(ignore_result=True)
def drawings_label_issues_task() -> None:
    """Look for trusted labels that are likely wrong (on the training queue: it imports cleanlab)."""
    label_issues_find()
