"""Running prediction jobs: claim a batch, one model call per model, store every answer in one transaction, publish."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
import weakref
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from django.db import connection, connections, transaction
from django.db.models import Field
from django.utils import timezone

from inference.answer import read_answer
from inference.committee import CommitteeModel
from inference.errors import InferenceError
from inference.images import png_to_data_url, thumbnail_png
from inference.numbers import read_digits
from inference.preprocess import (
    FIELD,
    INK_OF_LEVEL,
    ProcessedDrawing,
    open_image,
    preprocess,
    read_luminance,
    to_png,
)
from inference.review_order import label_values, member_agreements
from webapp.core import heartbeats, metrics
from webapp.core.serving import answering_model
from webapp.drawings.models import Drawing, Kind, Status
from webapp.drawings.notifications import drawing_finished_notify
from webapp.drawings.serializers import drawing_result
from webapp.drawings.services.creation import THUMBNAIL_SIZE
from webapp.drawings.services.explanations import saliency_png
from webapp.drawings.services.shadow import shadow_answers_store

logger = logging.getLogger(__name__)


def _milliseconds(start: Any, end: Any) -> float:
    return round((end - start).total_seconds() * 1000, 3)


# What a claim reads back: every field of a drawing but the submitted image. A digit's job reads the
# 28x28 made at submit; the image (12 KB for a canvas export) is loaded on first use by the jobs that
# need it (numbers).
CLAIM_FIELDS = [field for field in Drawing._meta.concrete_fields if field.name != "image"]


@functools.cache
def _claim_columns(vendor: str) -> str:
    """CLAIM_FIELDS' columns, quoted for the database `vendor`."""
    return ", ".join(connection.ops.quote_name(str(field.column)) for field in CLAIM_FIELDS)


def _drawings_claim(drawing_ids: Sequence[str]) -> list[Drawing]:
    """Mark the jobs running by this process (their owner, for the sweep) and load their drawings in one
    statement (UPDATE ... RETURNING, PostgreSQL and SQLite alike); a drawing that is gone or already
    finished is left out. The rows become drawings as a queryset's would (the backend's and the fields'
    converters, `Model.from_db`), without a raw queryset's per-query set-up."""
    pk = Drawing._meta.pk
    assert pk is not None
    started_at = Drawing._meta.get_field("started_at")
    ids = [pk.get_db_prep_value(uuid.UUID(str(drawing_id)), connection) for drawing_id in drawing_ids]
    sql = (
        f"UPDATE {Drawing._meta.db_table} SET status = %s, started_at = %s, owner = %s, attempts = attempts + 1"
        f" WHERE {pk.column} IN ({', '.join(['%s'] * len(ids))}) AND status IN (%s, %s)"
        f" RETURNING {_claim_columns(connection.vendor)}"
    )
    params = [
        Status.RUNNING.value,
        started_at.get_db_prep_value(timezone.now(), connection),
        heartbeats.process_key(),
        *ids,
        Status.QUEUED.value,
        Status.RUNNING.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    compiler, converters = _claim_converters(connections[connection.alias])
    names = [field.attname for field in CLAIM_FIELDS]
    return [Drawing.from_db(connection.alias, names, row) for row in compiler.apply_converters(rows, converters)]


_CONVERTERS: weakref.WeakKeyDictionary[Any, tuple[Any, dict[int, Any]]] = weakref.WeakKeyDictionary()


def _claim_converters(wrapper: Any) -> tuple[Any, dict[int, Any]]:
    """A compiler and the converters of CLAIM_FIELDS' columns for one database connection (worked out
    once per connection: 0.3 ms a claim otherwise)."""
    if wrapper not in _CONVERTERS:
        compiler = Drawing.objects.none().query.get_compiler(connection=wrapper)
        columns = [field.get_col(Drawing._meta.db_table) for field in CLAIM_FIELDS]
        _CONVERTERS[wrapper] = (compiler, compiler.get_converters(columns))
    return _CONVERTERS[wrapper]


def drawing_predict(*, drawing_id: str) -> Drawing | None:
    """Run the drawing's model on it and store the answer (or the failure). Idempotent."""
    claimed = drawings_predict(drawing_ids=[drawing_id])
    # Gone, or finished by an earlier delivery of the same job: as the row is now.
    return claimed.get(str(drawing_id)) or Drawing.objects.filter(pk=drawing_id).first()


def drawings_predict(*, drawing_ids: Sequence[str]) -> dict[str, Drawing]:
    """Run a batch of jobs: one claim, one model call per model for the digits, every answer stored in
    one transaction and then published. Idempotent: a job finished already (or gone) is skipped. Returns
    the drawings this call ran, by id."""
    drawings = _drawings_claim(drawing_ids)
    metrics.PREDICT_BATCH.observe(len(drawings))
    finished: list[Drawing] = []
    prepared: list[tuple[Drawing, ProcessedDrawing]] = []
    for drawing in drawings:
        if drawing.kind == Kind.NUMBER:
            finished.append(_number_predict(drawing))
            continue
        try:
            processed = _model_input(drawing)
        except InferenceError as exc:
            finished.append(_job_failed(drawing, exc.code, exc.message))
            continue
        prepared.append((drawing, processed))
    for model_name in sorted({drawing.model_name for drawing, _ in prepared}):
        group = [item for item in prepared if item[0].model_name == model_name]
        try:
            model = answering_model(model_name)
            began = time.perf_counter()
            rows, members = model.predict_with_members(np.stack([processed.pixels for _, processed in group]))
            each = (time.perf_counter() - began) / len(group)
        except InferenceError as exc:
            finished += [_job_failed(drawing, exc.code, exc.message) for drawing, _ in group]
            continue
        values, agreements = label_values(members), member_agreements(members)
        for (drawing, processed), row, value, agreement in zip(group, rows, values, agreements, strict=True):
            drawing.label_value = float(value)
            drawing.committee_agreement = float(agreement)
            finished.append(_digit_answer(drawing, model, processed, row, each))
    _drawings_finish(finished)
    shadow_answers_store(prepared)  # after the answers are published: nobody waits for the shadow
    return {str(drawing.pk): drawing for drawing in drawings}


def _model_input(drawing: Drawing) -> ProcessedDrawing:
    """What the model sees for a digit: the array made at submit (then its PNG and the thumbnail are in
    the row already), or, for a drawing stored without it, the image preprocessed here (timed)."""
    if drawing.model_input is not None:
        pixels = np.frombuffer(bytes(drawing.model_input), dtype=np.float32).reshape(FIELD, FIELD).copy()
        thumbnail = bytes(drawing.thumbnail) if drawing.thumbnail is not None else None
        png = bytes(drawing.processed_image) if drawing.processed_image is not None else to_png(pixels)
        return ProcessedDrawing(pixels=pixels, png=png, thumbnail=thumbnail)
    began = time.perf_counter()
    processed = preprocess(bytes(drawing.image), thumbnail_size=THUMBNAIL_SIZE)
    drawing.preprocess_ms = round((time.perf_counter() - began) * 1000, 3)
    return processed


def _digit_answer(
    drawing: Drawing, model: CommitteeModel, processed: ProcessedDrawing, probabilities: Any, seconds: float
) -> Drawing:
    """Fill in a single digit's answer (not saved)."""
    answer = read_answer(probabilities)
    drawing.status = Status.DONE
    drawing.model_version = model.version
    drawing.not_a_digit_voters = model.voter_versions or None
    drawing.processed_image = processed.png
    drawing.thumbnail = processed.thumbnail
    drawing.probabilities = answer.probabilities
    drawing.digit = answer.digit
    drawing.not_a_digit = answer.not_a_digit
    drawing.not_a_digit_probability = answer.not_a_digit_probability
    drawing.confidence = answer.confidence
    drawing.inference_ms = round(seconds * 1000, 3)
    if drawing.explain:
        drawing.saliency = saliency_png(drawing, model, processed.pixels, int(np.argmax(probabilities)))
        if drawing.saliency is None:  # the request is dropped, so that nobody waits for it
            Drawing.objects.filter(pk=drawing.pk).update(explain=False)
            drawing.explain = False
    return drawing


def _number_predict(drawing: Drawing) -> Drawing:
    """Find the digits of a number drawing and run the model on all of them in one batch (not saved)."""
    model_seconds = 0.0

    def predict(batch: np.ndarray) -> np.ndarray:
        nonlocal model_seconds
        began = time.perf_counter()
        rows = model.predict(batch)
        model_seconds += time.perf_counter() - began
        return rows

    try:
        began = time.perf_counter()
        data = bytes(drawing.image)
        image = open_image(data)
        ink = INK_OF_LEVEL[np.asarray(read_luminance(image, data))]
        stroke_scale = image.width / drawing.canvas_width if drawing.canvas_width else 1.0
        model = answering_model(drawing.model_name)
        parts, probabilities = read_digits(ink, predict, drawing.strokes, stroke_scale)
        seconds = time.perf_counter() - began
    except InferenceError as exc:
        return _job_failed(drawing, exc.code, exc.message)
    answers = [read_answer(row) for row in probabilities]
    drawing.status = Status.DONE
    drawing.model_version = model.version
    drawing.not_a_digit_voters = model.voter_versions or None
    drawing.thumbnail = thumbnail_png(ink, THUMBNAIL_SIZE)
    # Parts that are not digits are listed with their boxes but are not part of the number.
    drawing.number = "".join(str(answer.digit) for answer in answers if answer.digit is not None) or None
    drawing.digits = [
        {
            "digit": answer.digit,
            "confidence": answer.confidence,
            "not_a_digit": answer.not_a_digit,
            "box": list(part.box),
            "processed_image": png_to_data_url(part.png),
        }
        for part, answer in zip(parts, answers, strict=True)
    ]
    drawing.preprocess_ms = round((seconds - model_seconds) * 1000, 3)  # reading the image, finding the digits
    drawing.inference_ms = round(model_seconds * 1000, 3)
    return drawing


JOB_RESULT_FIELDS = [
    "status",
    "started_at",
    "finished_at",
    "model_version",
    "processed_image",
    "thumbnail",
    "probabilities",
    "digit",
    "not_a_digit",
    "not_a_digit_probability",
    "not_a_digit_voters",
    "label_value",
    "committee_agreement",
    "number",
    "digits",
    "confidence",
    "saliency",
    "error_code",
    "error_message",
    "queue_ms",
    "preprocess_ms",
    "inference_ms",
    "total_ms",
]


def _job_result_fields() -> list[Field[Any, Any]]:
    return [cast("Field[Any, Any]", Drawing._meta.get_field(name)) for name in JOB_RESULT_FIELDS]


def _job_results_update_sql() -> str:
    """One UPDATE of a drawing's job fields by id, with a placeholder for each."""
    quote = connection.ops.quote_name
    pk = Drawing._meta.pk
    assert pk is not None
    columns = ", ".join(f"{quote(str(field.column))} = %s" for field in _job_result_fields())
    return f"UPDATE {quote(Drawing._meta.db_table)} SET {columns} WHERE {quote(str(pk.column))} = %s"


def _job_results_store(drawings: Sequence[Drawing]) -> None:
    """Store the jobs' own fields (a label given while a job ran survives) with one prepared UPDATE run
    for every drawing: what `save(update_fields=...)` writes, without building the statement per drawing
    (building it per drawing costs a fifth of a worker's CPU, py-spy)."""
    fields = _job_result_fields()
    pk = Drawing._meta.pk
    assert pk is not None
    rows = [
        [field.get_db_prep_save(getattr(drawing, field.attname), connection) for field in fields]
        + [pk.get_db_prep_value(drawing.pk, connection)]
        for drawing in drawings
    ]
    if not rows:  # every job of the batch was finished or gone already
        return
    with connection.cursor() as cursor:
        if len(rows) == 1:
            cursor.execute(_job_results_update_sql(), rows[0])
        else:
            cursor.executemany(_job_results_update_sql(), rows)


def _job_failed(drawing: Drawing, code: str, message: str) -> Drawing:
    """Mark the job failed (not saved)."""
    drawing.status = Status.FAILED
    drawing.error_code = code
    drawing.error_message = message
    return drawing


def _drawings_finish(drawings: Sequence[Drawing]) -> None:
    """Store the jobs' results in one transaction, then publish each: a waiter never hears of a result
    the database does not have yet."""
    now = timezone.now()
    for drawing in drawings:
        drawing.finished_at = now
        drawing.queue_ms = _milliseconds(drawing.created_at, drawing.started_at)
        drawing.total_ms = _milliseconds(drawing.created_at, drawing.finished_at)
    # One commit for a batch; a lone drawing's UPDATE commits by itself (no BEGIN and COMMIT around it).
    with transaction.atomic() if len(drawings) > 1 else contextlib.nullcontext():
        _job_results_store(drawings)
    for drawing in drawings:
        metrics.job_observe(
            model=drawing.model_name,
            version=drawing.model_version,
            status=drawing.status,
            error_code=drawing.error_code,
            queue_ms=drawing.queue_ms,
            total_ms=drawing.total_ms,
        )
        if drawing.status == Status.DONE and drawing.kind == Kind.DIGIT:
            metrics.answer_observe(
                model=drawing.model_name,
                version=drawing.model_version,
                answer="not_a_digit" if drawing.not_a_digit else str(drawing.digit),
                confidence=drawing.confidence,
                agreement=drawing.committee_agreement,
            )
        drawing_finished_notify(drawing_id=str(drawing.id), result=drawing_result(drawing))
        logger.info(
            "Drawing %s: %s (%s v%s, %.0f ms)",
            drawing.id,
            _answer_text(drawing),
            drawing.model_name,
            drawing.model_version,
            drawing.total_ms or 0,
        )


def _answer_text(drawing: Drawing) -> str:
    """The answer as one log line says it: a digit, a number, "not a digit" or the failure's code."""
    if drawing.status == Status.FAILED:
        return f"failed ({drawing.error_code})"
    if drawing.number is not None:
        return f"number {drawing.number}"
    if drawing.not_a_digit:
        return "not a digit"
    return (
        f"digit {drawing.digit} ({drawing.confidence:.2f})"
        if drawing.confidence is not None
        else f"digit {drawing.digit}"
    )


def drawing_fail(*, drawing_id: str, code: str, message: str) -> None:
    """Record an unexpected failure (time limit, crash) so it is never silent."""
    drawing = Drawing.objects.filter(pk=drawing_id).first()
    if drawing is not None and not drawing.is_finished:
        drawing.started_at = drawing.started_at or timezone.now()
        _drawings_finish([_job_failed(drawing, code, message)])
