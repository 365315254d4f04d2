"""Trusted labels given by staff or imported, one drawing or a whole selection at a time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from inference.answer import NOT_A_DIGIT
from webapp.drawings.models import NUMBER_MAX_DIGITS, Drawing, Kind, LabelSource, Status
from webapp.drawings.selectors import ANSWER_CLASS, ANSWERED


def drawing_label(*, drawing: Drawing, label: int, source: LabelSource = LabelSource.STAFF) -> Drawing:
    """Record what the digit really was, as a trusted label (staff review or an imported set). A staff
    label given to a drawing whose label was suspected wrong confirms it: it is not suspected again."""
    drawing.label = label
    drawing.label_source = source
    drawing.labelled_at = timezone.now()
    fields = ["label", "label_source", "labelled_at"]
    if source == LabelSource.STAFF and drawing.suspected_label is not None:
        drawing.suspected_label = None
        drawing.label_confirmed_at = drawing.labelled_at
        fields += ["suspected_label", "label_confirmed_at"]
    drawing.save(update_fields=fields)
    return drawing


def drawings_label_each(
    *, labels: Mapping[uuid.UUID, int], source: LabelSource = LabelSource.STAFF
) -> tuple[list[Drawing], list[Drawing]]:
    """Give each drawing its own label (a review page's answer), all or nothing: every id must be a finished,
    answered digit drawing and every label a class, else ValueError and nothing is written. A drawing that
    has a label already (someone was quicker) keeps it. Returns the drawings labelled and those skipped."""
    for label in labels.values():
        label_validate(label)
    with transaction.atomic():
        rows = Drawing.objects.select_for_update().filter(pk__in=list(labels)).defer("image", "strokes", "digits")
        drawings = {drawing.pk: drawing for drawing in rows}
        for pk in labels:
            drawing = drawings.get(pk)
            if drawing is None:
                raise ValueError(f"No drawing with id {pk}.")
            if drawing.kind != Kind.DIGIT or drawing.status != Status.DONE or drawing.answer_class is None:
                raise ValueError(f"Drawing {pk} is not a finished digit drawing with an answer.")
        labelled, skipped = [], []
        for pk, label in labels.items():
            if drawings[pk].label is not None:
                skipped.append(drawings[pk])
            else:
                labelled.append(drawing_label(drawing=drawings[pk], label=label, source=source))
    return labelled, skipped


def drawing_number_label(*, drawing: Drawing, number: str, source: LabelSource = LabelSource.STAFF) -> Drawing:
    """Record what a number drawing really says (a string of digits), as a trusted label."""
    drawing.number_label = number_validate(number=number)
    drawing.label_source = source
    drawing.labelled_at = timezone.now()
    drawing.save(update_fields=["number_label", "label_source", "labelled_at"])
    return drawing


def number_validate(*, number: str) -> str:
    """`number` if it is 1 to NUMBER_MAX_DIGITS digits, else ValueError."""
    if not (number.isascii() and number.isdigit() and len(number) <= NUMBER_MAX_DIGITS):
        raise ValueError(f"A number label is 1 to {NUMBER_MAX_DIGITS} digits, not {number!r}.")
    return number


def drawings_label_bulk(
    *, drawings: QuerySet[Drawing], label: int, source: LabelSource = LabelSource.STAFF
) -> list[uuid.UUID]:
    """Give every digit drawing in `drawings` the same label (a digit, or NOT_A_DIGIT); returns their ids."""
    label_validate(label)
    return _labels_update(drawings.filter(kind=Kind.DIGIT), Value(label), source)


def drawings_prediction_confirm(
    *, drawings: QuerySet[Drawing], source: LabelSource = LabelSource.STAFF
) -> list[uuid.UUID]:
    """Take the model's answer (a digit, or not a digit) as the label, for drawings that have one; returns
    their ids."""
    return _labels_update(drawings.filter(ANSWERED, kind=Kind.DIGIT), ANSWER_CLASS, source)


def drawings_user_label_accept(
    *, drawings: QuerySet[Drawing], source: LabelSource = LabelSource.STAFF
) -> list[uuid.UUID]:
    """Take the drawer's answer as the trusted label, for drawings that have one; returns their ids."""
    return _labels_update(drawings.filter(kind=Kind.DIGIT, user_label__isnull=False), F("user_label"), source)


def _labels_update(drawings: QuerySet[Drawing], label: Any, source: LabelSource) -> list[uuid.UUID]:
    """One UPDATE of the drawings' labels; a staff label confirms a suspected one (as `drawing_label`)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(drawings.select_for_update().values_list("pk", flat=True))
        fields: dict[str, Any] = {"label": label, "label_source": source, "labelled_at": now}
        if source == LabelSource.STAFF:
            fields["label_confirmed_at"] = Case(
                When(suspected_label__isnull=False, then=Value(now)), default=F("label_confirmed_at")
            )
            fields["suspected_label"] = None
        Drawing.objects.filter(pk__in=ids).update(**fields)
    return ids


def drawings_exclude(*, drawings: QuerySet[Drawing], excluded: bool = True) -> int:
    """Keep drawings out of (or put them back into) the training data export."""
    return drawings.update(excluded_from_training=excluded)


def label_validate(label: int) -> None:
    """ValueError unless `label` is a digit or NOT_A_DIGIT."""
    if not 0 <= label <= NOT_A_DIGIT:
        raise ValueError(f"A label is a digit 0-9 or {NOT_A_DIGIT} (not a digit), not {label}.")
