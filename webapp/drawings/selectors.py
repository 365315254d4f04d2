"""Reads: drawings, the review queue, statistics, and the labelled drawings that training uses."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Avg, Case, CharField, Count, F, FloatField, IntegerField, Q, QuerySet, Value, When, Window
from django.db.models.functions import Coalesce, RowNumber, TruncDate
from PIL import Image

from inference.answer import NOT_A_DIGIT
from inference.errors import InferenceError
from inference.images import data_url_payload
from inference.preprocess import preprocess
from inference.review_order import CANDIDATES_PER_PAGE_SLOT, review_order
from webapp.drawings.errors import DrawingNotFound
from webapp.drawings.models import USER_LABEL_SOURCE, Drawing, Kind, ShadowAnswer, Status
from webapp.drawings.notifications import finish_listener
from webapp.drawings.serializers import drawing_result


def drawing_get(*, drawing_id: str | uuid.UUID) -> Drawing:
    """The drawing, or DrawingNotFound."""
    try:
        drawing_id = uuid.UUID(str(drawing_id))
    except ValueError as exc:
        raise DrawingNotFound(drawing_id) from exc
    drawing = Drawing.objects.filter(pk=drawing_id).first()
    if drawing is None:
        raise DrawingNotFound(drawing_id)
    return drawing


def database_connection_release() -> None:
    """Give the database connection back to the pool before a long wait; the next query takes one again.
    Without a pool (SQLite) the thread keeps its connection: closing would only cost a reconnect."""
    if "pool" in connection.settings_dict.get("OPTIONS", {}) and not connection.in_atomic_block:
        connection.close()


def drawing_result_when_finished(*, drawing_id: str | uuid.UUID, wait_seconds: float) -> dict[str, Any]:
    """Long poll: the drawing as the API shows it, as soon as it is finished (with its saliency map, if one
    was asked for), or as it stands after `wait_seconds`. Without a live subscription (Redis down), as it
    stands now. A finish whose message carries the drawing is answered without reading the row again."""
    drawing = drawing_get(drawing_id=drawing_id)
    if drawing.is_answered or wait_seconds <= 0 or not finish_listener.subscribed(timeout=1.0):
        return drawing_result(drawing)
    with finish_listener.waiting(str(drawing.pk)) as waiter:
        drawing = drawing_get(drawing_id=drawing_id)  # it may have finished before we registered
        if drawing.is_answered or waiter is None:  # answered, or every waiting slot is taken
            return drawing_result(drawing)
        database_connection_release()
        if waiter.wait(wait_seconds):
            if waiter.result is not None:
                return waiter.result
            drawing = drawing_get(drawing_id=drawing_id)  # an explanation, or the subscription dropped
    return drawing_result(drawing)


# The class a drawing was answered: its digit, or NOT_A_DIGIT (null while unanswered).
ANSWER_CLASS = Case(When(not_a_digit=True, then=Value(NOT_A_DIGIT)), default=F("digit"), output_field=IntegerField())
ANSWERED = Q(digit__isnull=False) | Q(not_a_digit=True)
ANSWERED_RIGHT = Q(label=F("digit")) | Q(label=NOT_A_DIGIT, not_a_digit=True)


def confidence_outcomes(*, model_name: str, model_version: int | None) -> tuple[list[float], list[bool]]:
    """Each labelled, answered drawing of a model version: its confidence and whether the answer was right
    (what a reliability diagram plots)."""
    rows = (
        Drawing.objects.filter(
            ANSWERED,
            model_name=model_name,
            model_version=model_version,
            label__isnull=False,
            confidence__isnull=False,
        )
        .annotate(answer=ANSWER_CLASS)
        .values_list("confidence", "answer", "label")
    )
    return [float(c or 0.0) for c, _, _ in rows], [answer == label for _, answer, label in rows]


# Review, statistics and export.

REVIEW_LOW_CONFIDENCE_DEFAULT = 0.8
# The review order's key, ascending: minus the label value (inference.review_order, in [0, 2]); a drawing
# answered before label values were kept falls back to minus (1 - confidence), one without either is last.
_NO_REVIEW_RANK = 1.0
REVIEW_RANK = Coalesce(
    -F("label_value"), F("confidence") - Value(1.0), Value(_NO_REVIEW_RANK), output_field=FloatField()
)
REVIEW_QUEUE_ORDERING = ("review_labelled", "review_rank", "created_at", "id")
# Who drew it, for spreading a page over writers: an imported data set's writer, else the browser's id.
WRITER = Case(When(writer="", then=F("client_id")), default=F("writer"), output_field=CharField())


def review_low_confidence() -> float:
    """The confidence below which a prediction is worth a second look (`REVIEW_LOW_CONFIDENCE`)."""
    return float(getattr(settings, "REVIEW_LOW_CONFIDENCE", REVIEW_LOW_CONFIDENCE_DEFAULT))


def review_queue_annotate(queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
    """Add the keys the review queue sorts on: labelled (a digit, or a number's string) or not, then the
    review rank (the most valuable label first)."""
    unlabelled = Q(label__isnull=True, number_label="")
    return queryset.annotate(
        review_labelled=Case(When(unlabelled, then=Value(0)), default=Value(1), output_field=IntegerField()),
        review_rank=REVIEW_RANK,
    )


def review_queue(*, queryset: QuerySet[Drawing] | None = None) -> QuerySet[Drawing]:
    """Drawings in the order most useful to review: unlabelled first, then the ones whose label would
    teach the models most (the committee's disagreement and margin)."""
    queryset = Drawing.objects.all() if queryset is None else queryset
    return review_queue_annotate(queryset).order_by(*REVIEW_QUEUE_ORDERING)


def review_queue_next(*, drawing: Drawing, queryset: QuerySet[Drawing] | None = None) -> Drawing | None:
    """The drawing after `drawing` in the review queue, by where `drawing` stands now (so call this
    before labelling it); past the end, the first unlabelled drawing left, else None."""
    labelled, rank, created_at, drawing_id = review_queue_position(drawing=drawing)
    after = Q(id__gt=drawing_id)
    for field, value in (
        ("created_at", created_at),
        ("review_rank", rank),
        ("review_labelled", labelled),
    ):
        after = Q(**{f"{field}__gt": value}) | (Q(**{field: value}) & after)
    queue = review_queue(queryset=queryset).exclude(pk=drawing.pk)
    # Past the end, go back for unlabelled drawings that were skipped or labelled out of order.
    return queue.filter(after).first() or queue.filter(label__isnull=True, number_label="").first()


def review_rank(drawing: Drawing) -> float:
    """`REVIEW_RANK` of one drawing, computed in Python."""
    if drawing.label_value is not None:
        return -drawing.label_value
    return _NO_REVIEW_RANK if drawing.confidence is None else drawing.confidence - 1.0


def review_queue_position(*, drawing: Drawing) -> tuple[int, float, Any, uuid.UUID]:
    """A drawing's sort key in the review queue."""
    labelled = drawing.label is not None or bool(drawing.number_label)
    return (1 if labelled else 0, review_rank(drawing), drawing.created_at, drawing.pk)


REVIEW_GRID_SIZE_DEFAULT = 48


def review_grid_size() -> int:
    """How many drawings one page of the grid review shows (`REVIEW_GRID_SIZE`)."""
    return int(getattr(settings, "REVIEW_GRID_SIZE", REVIEW_GRID_SIZE_DEFAULT))


def review_grid(*, size: int | None = None) -> list[Drawing]:
    """One page of the grid review: finished, unlabelled digit drawings in `inference.review_order`'s
    order (the most valuable labels first, the answers and, within each, the writers taking turns), so
    that a page shows what teaches the models most instead of `size` copies of one scribble.

    SQL keeps each answer's `size * CANDIDATES_PER_PAGE_SLOT` most valuable drawings (the candidates the
    order considers); the order itself runs in Python on their ids, ranks, answers and writers."""
    size = review_grid_size() if size is None else size
    candidates = (
        Drawing.objects.filter(ANSWERED, kind=Kind.DIGIT, status=Status.DONE, label__isnull=True)
        .annotate(
            rank=REVIEW_RANK,
            answer=ANSWER_CLASS,
            drawn_by=WRITER,
            answer_rank=Window(
                RowNumber(),
                partition_by=[ANSWER_CLASS],
                order_by=[REVIEW_RANK.asc(), F("created_at").asc(), F("id").asc()],
            ),
        )
        .filter(answer_rank__lte=size * CANDIDATES_PER_PAGE_SLOT)
        .order_by("rank", "created_at", "id")
        .values_list("id", "rank", "answer", "drawn_by")
    )
    rows = list(candidates)
    if not rows:
        return []
    order = review_order(
        np.array([-rank for _, rank, _, _ in rows]),
        np.array([answer for _, _, answer, _ in rows]),
        [drawn_by for _, _, _, drawn_by in rows],
        page=size,
    )
    ids = [rows[index][0] for index in order]
    drawings = Drawing.objects.defer("image", "strokes", "thumbnail", "saliency", "digits").in_bulk(ids)
    return [drawings[pk] for pk in ids]


def suspected_label_count() -> int:
    """How many trusted labels are suspected wrong and wait for a reviewer."""
    return Drawing.objects.filter(suspected_label__isnull=False, label__isnull=False).count()


def suspected_labels(*, size: int | None = None) -> list[Drawing]:
    """One page of trusted labels that confident learning finds likely wrong
    (`services.label_issues`), in the order they were labelled, for a reviewer to confirm or correct."""
    size = review_grid_size() if size is None else size
    return list(
        Drawing.objects.filter(suspected_label__isnull=False, label__isnull=False)
        .defer("image", "strokes", "thumbnail", "saliency", "digits")
        .order_by("labelled_at", "created_at", "id")[:size]
    )


@dataclass(frozen=True)
class ModelStatistics:
    """How one model version did: volume, labelling progress, accuracy and confusions."""

    model_name: str
    model_version: int | None
    total: int
    labelled: int
    evaluated: int
    correct: int
    # confusion[label][predicted digit] counts labelled drawings with a prediction.
    confusion: list[list[int]]
    per_day: list[tuple[date, int]]
    # The drawers' own answers (not reviewed): how many gave one, and how many said the model was right.
    user_labelled: int = 0
    user_confirmed: int = 0

    @property
    def share_labelled(self) -> float | None:
        return self.labelled / self.total if self.total else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.evaluated if self.evaluated else None


def drawing_statistics(*, queryset: QuerySet[Drawing] | None = None) -> list[ModelStatistics]:
    """Per model and model version: drawings, share labelled, accuracy and confusion matrix on the trusted
    labels, and how many drawers answered and said the model was right."""
    queryset = Drawing.objects.all() if queryset is None else queryset
    queryset = queryset.order_by()
    key = ("model_name", "model_version")
    totals = queryset.values(*key).annotate(
        total=Count("id"),
        labelled=Count("id", filter=Q(label__isnull=False)),
        evaluated=Count("id", filter=Q(label__isnull=False) & ANSWERED),
        correct=Count("id", filter=ANSWERED_RIGHT),
        user_labelled=Count("id", filter=Q(user_label__isnull=False)),
        user_confirmed=Count("id", filter=Q(user_label=F("digit")) | Q(user_label=NOT_A_DIGIT, not_a_digit=True)),
    )
    confusions: dict[tuple[str, int | None], list[list[int]]] = {}
    pairs = queryset.filter(ANSWERED, label__isnull=False).annotate(answer=ANSWER_CLASS)
    for row in pairs.values(*key, "label", "answer").annotate(n=Count("id")):
        matrix = confusions.setdefault((row["model_name"], row["model_version"]), _empty_confusion())
        matrix[row["label"]][row["answer"]] = row["n"]
    days: dict[tuple[str, int | None], list[tuple[date, int]]] = {}
    per_day = queryset.annotate(day=TruncDate("created_at")).values(*key, "day").annotate(n=Count("id"))
    for row in per_day.order_by("day"):
        days.setdefault((row["model_name"], row["model_version"]), []).append((row["day"], row["n"]))
    statistics = [
        ModelStatistics(
            model_name=row["model_name"],
            model_version=row["model_version"],
            total=row["total"],
            labelled=row["labelled"],
            evaluated=row["evaluated"],
            correct=row["correct"],
            confusion=confusions.get((row["model_name"], row["model_version"]), _empty_confusion()),
            per_day=days.get((row["model_name"], row["model_version"]), []),
            user_labelled=row["user_labelled"],
            user_confirmed=row["user_confirmed"],
        )
        for row in totals
    ]
    return sorted(statistics, key=lambda s: (s.model_name, s.model_version is None, s.model_version or 0))


def _empty_confusion() -> list[list[int]]:
    """Rows and columns: the ten digits, then "not a digit"."""
    return [[0] * (NOT_A_DIGIT + 1) for _ in range(NOT_A_DIGIT + 1)]


def user_labels_trusted() -> bool:
    """Whether training takes the drawer's answer where no trusted label exists (FINETUNE_TRUST_USER_LABELS)."""
    return bool(getattr(settings, "FINETUNE_TRUST_USER_LABELS", False))


def training_labelled(queryset: QuerySet[Drawing] | None = None) -> QuerySet[Drawing]:
    """Drawings not excluded from training that have a label training believes, as `training_label`:
    the trusted label, else (only when FINETUNE_TRUST_USER_LABELS is on) the drawer's answer; without the
    labels suspected wrong, unless FINETUNE_SKIP_SUSPECTED_LABELS is off."""
    queryset = Drawing.objects.all() if queryset is None else queryset
    if user_labels_trusted():
        training_label: Any = Coalesce("label", "user_label")
    else:
        training_label = F("label")
    if suspected_labels_skipped():
        queryset = queryset.filter(suspected_label__isnull=True)
    return (
        queryset.filter(kind=Kind.DIGIT, excluded_from_training=False)
        .annotate(training_label=training_label)
        .filter(training_label__isnull=False)
    )


def suspected_labels_skipped() -> bool:
    """Whether fine-tuning leaves out the labels confident learning suspects until a reviewer confirms
    them (FINETUNE_SKIP_SUSPECTED_LABELS)."""
    return bool(getattr(settings, "FINETUNE_SKIP_SUSPECTED_LABELS", True))


def drawings_for_export(
    *, since: date | None = None, until: date | None = None, label_source: str | None = None
) -> QuerySet[Drawing]:
    """Drawings training may use (`training_labelled`), oldest first; dates are inclusive (UTC days).

    `label_source` "user" selects those whose label is the drawer's answer (none unless trusted).
    """
    queryset = training_labelled()
    if since is not None:
        queryset = queryset.filter(created_at__date__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__date__lte=until)
    if label_source == USER_LABEL_SOURCE:
        queryset = queryset.filter(label__isnull=True)
    elif label_source:
        queryset = queryset.filter(label_source=label_source, label__isnull=False)
    return queryset.order_by("created_at", "id")


def training_label_source(drawing: Drawing) -> str:
    """Where the label training uses came from: the trusted label's source, else "user"."""
    return str(drawing.label_source) if drawing.label is not None else USER_LABEL_SOURCE


def writer_key(drawing: Drawing) -> str:
    """Who drew it: the imported writer, else the browser (client id), else the drawing itself."""
    if drawing.writer:
        return f"writer:{drawing.writer}"
    if drawing.client_id:
        return f"client:{drawing.client_id}"
    return f"drawing:{drawing.pk}"


@dataclass(frozen=True)
class LabelledDrawing:
    """A labelled drawing as training sees it: who drew it, what it is, the 28x28 the model sees."""

    writer_key: str
    label: int
    pixels: np.ndarray


def training_writer_keys() -> set[str]:
    """The writers of the drawings that training may use."""
    digits = {writer_key(d) for d in training_labelled().only("id", "writer", "client_id")}
    return digits | {writer_key(d) for d in training_numbers_labelled().only("id", "writer", "client_id")}


def _drawing_pixels(drawing: Drawing) -> np.ndarray | None:
    """The 28x28 the model saw (stored), else the drawing preprocessed now; None if it cannot be."""
    if drawing.processed_image:
        return np.asarray(Image.open(io.BytesIO(bytes(drawing.processed_image))), dtype=np.float32) / 255.0
    try:
        return preprocess(bytes(drawing.image)).pixels
    except InferenceError:
        return None


def training_drawings() -> Iterator[LabelledDrawing]:
    """The drawings training may use (`training_labelled`), as pixels, a chunk of rows at a time."""
    rows = training_labelled().only("id", "image", "processed_image", "writer", "client_id")
    for drawing in rows.iterator(chunk_size=500):
        pixels = _drawing_pixels(drawing)
        label = drawing.training_label  # type: ignore[attr-defined]
        if pixels is None or label is None:
            continue
        yield LabelledDrawing(writer_key=writer_key(drawing), label=int(label), pixels=pixels)
    yield from training_number_digits()


def training_numbers_labelled() -> QuerySet[Drawing]:
    """Answered number drawings not excluded from training that have a number label training believes,
    as `training_number`: the staff label, else (only when FINETUNE_TRUST_USER_LABELS is on) the drawer's."""
    numbers = Drawing.objects.filter(kind=Kind.NUMBER, status=Status.DONE, excluded_from_training=False)
    if user_labels_trusted():
        numbers = numbers.exclude(number_label="", user_number_label="")
        return numbers.annotate(
            training_number=Case(When(number_label="", then=F("user_number_label")), default=F("number_label"))
        )
    return numbers.exclude(number_label="").annotate(training_number=F("number_label"))


def training_number_digits() -> Iterator[LabelledDrawing]:
    """Each digit of a labelled number (`training_numbers_labelled`) with its digit of the label, as the
    model saw it; only where the worker found as many digits as the label has (else which is which?)."""
    rows = training_numbers_labelled().only("id", "digits", "writer", "client_id")
    for drawing in rows.iterator(chunk_size=500):
        number = str(drawing.training_number)  # type: ignore[attr-defined]
        digits = drawing.digits or []
        if len(digits) != len(number):
            continue
        for part, label in zip(digits, number, strict=True):
            image = Image.open(io.BytesIO(base64.b64decode(data_url_payload(part["processed_image"]))))
            pixels = np.asarray(image, dtype=np.float32) / 255.0
            yield LabelledDrawing(writer_key=writer_key(drawing), label=int(label), pixels=pixels)


@dataclass(frozen=True)
class ShadowSummary:
    """A shadow version over the drawings it answered, beside the serving answers to the same drawings."""

    drawings: int
    agreement: float
    not_a_digit_share: float
    serving_not_a_digit_share: float
    mean_inference_ms: float
    labelled: int
    accuracy: float | None
    serving_accuracy: float | None


def shadow_summary(*, model_name: str, version: int) -> ShadowSummary | None:
    """The shadow's figures (None before it answered anything): agreement, labelled accuracy of both,
    the "not a digit" share of both and its model time."""
    answers = ShadowAnswer.objects.filter(model_name=model_name, model_version=version)
    totals = answers.aggregate(
        drawings=Count("id"),
        agreeing=Count("id", filter=Q(agrees=True)),
        refused=Count("id", filter=Q(not_a_digit=True)),
        serving_refused=Count("id", filter=Q(drawing__not_a_digit=True)),
        mean_ms=Avg("inference_ms"),
        labelled=Count("id", filter=Q(drawing__label__isnull=False)),
        right=Count(
            "id",
            filter=Q(drawing__label=NOT_A_DIGIT, not_a_digit=True) | Q(digit=F("drawing__label"), not_a_digit=False),
        ),
        serving_right=Count(
            "id",
            filter=Q(drawing__label=NOT_A_DIGIT, drawing__not_a_digit=True)
            | Q(drawing__digit=F("drawing__label"), drawing__not_a_digit=False),
        ),
    )
    drawings, labelled = totals["drawings"], totals["labelled"]
    if not drawings:
        return None
    return ShadowSummary(
        drawings=drawings,
        agreement=totals["agreeing"] / drawings,
        not_a_digit_share=totals["refused"] / drawings,
        serving_not_a_digit_share=totals["serving_refused"] / drawings,
        mean_inference_ms=totals["mean_ms"],
        labelled=labelled,
        accuracy=totals["right"] / labelled if labelled else None,
        serving_accuracy=totals["serving_right"] / labelled if labelled else None,
    )
