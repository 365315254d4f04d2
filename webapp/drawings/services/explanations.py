"""Saliency maps of answers: made with the answer when asked at submit, or later by an explain job."""

from __future__ import annotations

import logging
from typing import Any

from inference.models import DigitModel
from inference.preprocess import (
    preprocess,
)
from inference.saliency import explain, steps_for
from webapp.core.serving import version_model
from webapp.drawings.errors import NotExplainable
from webapp.drawings.models import Drawing, Kind, Status
from webapp.drawings.notifications import drawing_finished_notify
from webapp.drawings.queue import drawing_explain_enqueue

logger = logging.getLogger(__name__)


def saliency_png(drawing: Drawing, model: DigitModel, pixels: Any, digit: int) -> bytes | None:
    """The heat-map PNG of why `model` said `digit`, or None (logged) if it could not be computed: an
    explanation never fails the answer."""
    try:
        _, png = explain(model, pixels, digit, steps_for(model.name))
    except Exception:
        logger.exception("No saliency map for drawing %s", drawing.pk)
        return None
    return png


def drawing_explain_request(*, drawing: Drawing) -> Drawing:
    """Ask for the saliency map of a drawing's answer. A queued drawing gets it with its answer; a
    running or answered one from an explain job. A failed drawing has nothing to explain."""
    if drawing.kind == Kind.NUMBER:
        raise NotExplainable("Explanations are made for single digits only.")
    if drawing.status == Status.FAILED:
        raise NotExplainable()
    if drawing.saliency is not None:
        return drawing
    Drawing.objects.filter(pk=drawing.pk).update(explain=True)
    drawing.refresh_from_db(fields=["explain", "status", "saliency"])
    if drawing.status != Status.QUEUED and drawing.saliency is None:
        drawing_explain_enqueue(drawing_id=str(drawing.pk))
    return drawing


class ExplanationNotReady(Exception):
    """The drawing's answer is still being computed: the explain job tries again shortly."""


def drawing_explain(*, drawing_id: str) -> Drawing | None:
    """Compute and store the saliency map of an answered drawing, on the version that answered it.
    Idempotent; raises ExplanationNotReady while the answer is still running."""
    drawing = Drawing.objects.filter(pk=drawing_id).first()
    if drawing is None or drawing.saliency is not None or not drawing.explain or drawing.status == Status.FAILED:
        return drawing
    if drawing.status != Status.DONE:
        raise ExplanationNotReady()
    assert drawing.model_version is not None and drawing.answer_class is not None  # set on every done drawing
    try:
        model = version_model(drawing.model_name, drawing.model_version)
        pixels = preprocess(bytes(drawing.image)).pixels
    except Exception:
        logger.exception("No saliency map for drawing %s", drawing.pk)
        saliency = None
    else:
        saliency = saliency_png(drawing, model, pixels, drawing.answer_class)
    if saliency is None:  # the request is dropped, so that nobody waits for it
        Drawing.objects.filter(pk=drawing.pk).update(explain=False)
    else:
        Drawing.objects.filter(pk=drawing.pk, saliency__isnull=True).update(saliency=saliency)
    drawing_finished_notify(drawing_id=str(drawing.pk))
    drawing.refresh_from_db()
    return drawing
