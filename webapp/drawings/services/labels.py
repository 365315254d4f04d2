"""Trusted labels given by staff or imported, one drawing or a whole selection at a time."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.utils import timezone

from inference.answer import NOT_A_DIGIT
from webapp.drawings.models import NUMBER_MAX_DIGITS, Drawing, Kind, LabelSource
from webapp.drawings.selectors import ANSWER_CLASS, ANSWERED


def drawing_label(*, drawing: Drawing, label: int, source: LabelSource = LabelSource.STAFF) -> Drawing:
    """Record what the digit really was, as a trusted label (staff review or an imported set)."""
    drawing.label = label
    drawing.label_source = source
    drawing.labelled_at = timezone.now()
    drawing.save(update_fields=["label", "label_source", "labelled_at"])
    return drawing


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


def drawings_label_bulk(*, drawings: QuerySet[Drawing], label: int, source: LabelSource = LabelSource.STAFF) -> int:
    """Give every drawing in `drawings` the same label (a digit, or NOT_A_DIGIT); returns how many were labelled."""
    if not 0 <= label <= NOT_A_DIGIT:
        raise ValueError(f"A label is a digit 0-9 or {NOT_A_DIGIT} (not a digit), not {label}.")
    return drawings.filter(kind=Kind.DIGIT).update(label=label, label_source=source, labelled_at=timezone.now())


def drawings_prediction_confirm(*, drawings: QuerySet[Drawing], source: LabelSource = LabelSource.STAFF) -> int:
    """Take the model's answer (a digit, or not a digit) as the label, for drawings that have one; returns
    how many."""
    return drawings.filter(ANSWERED, kind=Kind.DIGIT).update(
        label=ANSWER_CLASS, label_source=source, labelled_at=timezone.now()
    )


def drawings_user_label_accept(*, drawings: QuerySet[Drawing], source: LabelSource = LabelSource.STAFF) -> int:
    """Take the drawer's answer as the trusted label, for drawings that have one; returns how many."""
    return drawings.filter(kind=Kind.DIGIT, user_label__isnull=False).update(
        label=F("user_label"), label_source=source, labelled_at=timezone.now()
    )


def drawings_exclude(*, drawings: QuerySet[Drawing], excluded: bool = True) -> int:
    """Keep drawings out of (or put them back into) the training data export."""
    return drawings.update(excluded_from_training=excluded)
