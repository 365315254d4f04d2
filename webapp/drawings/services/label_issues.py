"""Trusted labels that are likely wrong, found by confident learning (`training.confident_learning`).

Each labelled drawing's probabilities are the ones it got when it was answered: the version that answered
had not been trained on that label, so they are out of sample, which is what confident learning needs. A
label it flags gets `suspected_label` (the class it suspects instead); fine-tuning leaves it out and the
grid review offers it to a reviewer, whose answer (the same label or another) ends the suspicion for good.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
from django.db import transaction

from inference.answer import NOT_A_DIGIT
from training.confident_learning import suspected_labels
from webapp.drawings.models import Drawing, Kind, LabelSource
from webapp.drawings.services.labels import drawing_label, label_validate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelIssues:
    """What one search found: the labels looked at, those now suspected, and those no longer suspected."""

    checked: int
    suspected: int
    cleared: int


def label_issues_find() -> LabelIssues:
    """Run confident learning over every trusted digit label not yet confirmed by a reviewer, and mark
    the suspected ones (clearing the marks of labels no longer suspected). Labels are never changed."""
    rows = list(
        Drawing.objects.filter(
            kind=Kind.DIGIT, label__isnull=False, probabilities__isnull=False, label_confirmed_at__isnull=True
        ).values_list("id", "label", "probabilities", "not_a_digit_probability", "suspected_label")
    )
    probabilities = np.array(
        [[*cast(list[float], digits), rejection or 0.0] for _, _, digits, rejection, _ in rows], dtype=np.float64
    ).reshape(len(rows), NOT_A_DIGIT + 1)
    labels = np.array([label for _, label, _, _, _ in rows], dtype=int)
    flagged, suspected = suspected_labels(labels, probabilities)
    now_suspected = {rows[index][0]: int(guess) for index, guess in zip(flagged, suspected, strict=True)}
    before = {pk: previous for pk, _, _, _, previous in rows if previous is not None}
    with transaction.atomic():
        cleared = Drawing.objects.filter(pk__in=set(before) - set(now_suspected)).update(suspected_label=None)
        changed = [
            Drawing(pk=pk, suspected_label=guess) for pk, guess in now_suspected.items() if before.get(pk) != guess
        ]
        Drawing.objects.bulk_update(changed, ["suspected_label"], batch_size=500)
    result = LabelIssues(checked=len(rows), suspected=len(now_suspected), cleared=cleared)
    logger.info(
        "Label issues: %d of %d trusted labels suspected (%d cleared)", result.suspected, result.checked, cleared
    )
    return result


def suspected_labels_confirm(*, labels: Mapping[uuid.UUID, int]) -> list[Drawing]:
    """A reviewer's answers for suspected labels, by drawing id: each drawing gets the label given (the
    same as before, or another) and is never suspected again. Drawings no longer suspected are skipped."""
    for label in labels.values():
        label_validate(label)
    with transaction.atomic():
        rows = Drawing.objects.select_for_update().filter(pk__in=list(labels), suspected_label__isnull=False)
        return [
            drawing_label(drawing=drawing, label=labels[drawing.pk], source=LabelSource.STAFF)
            for drawing in rows.defer("image", "strokes", "digits")
        ]
