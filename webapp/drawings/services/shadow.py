"""Shadow answers: a candidate version runs on live drawings after the serving answer was stored and
published, so that no drawer waits for it, and its answers are stored apart, never shown.

Which drawings: `SHADOW_SHARE` of them, chosen by id (the same drawing is always in or out). A batch's
shadow answers are one INSERT: a worker killed meanwhile leaves all of them or none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from inference.answer import read_answer
from inference.errors import InferenceError
from inference.preprocess import ProcessedDrawing
from webapp.core import metrics
from webapp.core.serving import answering_model, shadow_version
from webapp.drawings.models import Drawing, ShadowAnswer, Status

logger = logging.getLogger(__name__)


def in_shadow_share(drawing: Drawing) -> bool:
    """Whether the drawing is among the SHADOW_SHARE that shadows answer (by its id, not at random)."""
    return drawing.pk.int % 10_000 < settings.SHADOW_SHARE * 10_000


def shadow_answers_store(answered: Sequence[tuple[Drawing, ProcessedDrawing]]) -> int:
    """Run each model's shadow version, if it has one, on the drawings its serving version answered; store
    the answers. Returns how many were stored. A shadow that fails is logged and costs nothing else."""
    stored = 0
    for model_name in sorted({drawing.model_name for drawing, _ in answered}):
        version = shadow_version(model_name)
        group = [
            (drawing, processed)
            for drawing, processed in answered
            if drawing.model_name == model_name
            and drawing.status == Status.DONE
            and drawing.model_version != version
            and in_shadow_share(drawing)
        ]
        if version is None or not group:
            continue
        try:
            stored += _shadow_group_store(model_name, version, group)
        except (InferenceError, OSError, ValueError):
            logger.warning("Shadow %s v%s could not answer", model_name, version, exc_info=True)
    return stored


def _shadow_group_store(model_name: str, version: int, group: list[tuple[Drawing, ProcessedDrawing]]) -> int:
    model = answering_model(model_name, version)
    began = time.perf_counter()
    rows = model.predict(np.stack([processed.pixels for _, processed in group]))
    each_ms = (time.perf_counter() - began) * 1000 / len(group)
    answers = []
    for (drawing, _), row in zip(group, rows, strict=True):
        read = read_answer(row)
        agrees = read.not_a_digit == drawing.not_a_digit and read.digit == drawing.digit
        answers.append(
            ShadowAnswer(
                drawing=drawing,
                model_name=model_name,
                model_version=version,
                digit=read.digit,
                not_a_digit=read.not_a_digit,
                confidence=read.confidence,
                agrees=agrees,
                inference_ms=round(each_ms, 3),
            )
        )
    # A drawing delivered twice (a worker lost after publishing) keeps its first shadow answer.
    ShadowAnswer.objects.bulk_create(answers, ignore_conflicts=True)
    for answer in answers:
        metrics.SHADOW_PREDICTIONS.labels(model_name, str(version), str(answer.agrees).lower()).inc()
    return len(answers)
