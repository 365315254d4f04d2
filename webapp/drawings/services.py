"""Writes: creating drawings, running a prediction job, labelling, re-enqueueing."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import numpy as np
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, Field, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from inference import registry
from inference.answer import NOT_A_DIGIT, read_answer
from inference.committee import CommitteeModel
from inference.errors import BlankDrawing, InferenceError
from inference.images import png_to_data_url, thumbnail_png
from inference.models import DigitModel
from inference.preprocess import (
    FIELD,
    FIRST_PAPER_LEVEL,
    INK_OF_LEVEL,
    ProcessedDrawing,
    open_image,
    preprocess,
    preprocess_luminance,
    read_luminance,
    to_png,
)
from inference.saliency import explain, steps_for
from inference.segment import read_digits
from webapp.core import heartbeats, metrics
from webapp.core.serving import answering_model, version_model
from webapp.drawings.errors import FeedbackForbidden, NotExplainable
from webapp.drawings.models import NUMBER_MAX_DIGITS, Drawing, Kind, LabelSource, Source, Status
from webapp.drawings.notifications import drawing_finished_notify, finish_listener
from webapp.drawings.queue import drawing_enqueue, drawing_explain_enqueue
from webapp.drawings.selectors import ANSWER_CLASS, ANSWERED, database_connection_release
from webapp.drawings.serializers import drawing_result

logger = logging.getLogger(__name__)

# Side of the thumbnail made with each drawing (the admin's lists show it): at submit for a digit, by
# the job for a number.
THUMBNAIL_SIZE = 56


def drawing_image_read(*, image: bytes, kind: Kind | str) -> tuple[str, ProcessedDrawing | None]:
    """Check the image (an accepted format within limits, not blank) and, for a digit, make the 28x28
    array the model will see and the thumbnail, from the one decoding of the image: the worker never
    decodes it again. Returns the image's format and, for a digit, what was made."""
    opened = open_image(image)
    luminance = read_luminance(opened, image)
    if kind == Kind.DIGIT:
        return str(opened.format), preprocess_luminance(luminance, thumbnail_size=THUMBNAIL_SIZE)
    if not (np.asarray(luminance) < FIRST_PAPER_LEVEL).any():
        raise BlankDrawing("The drawing is blank: draw a digit first.")
    return str(opened.format), None


def drawing_create(
    *,
    image: bytes,
    model_name: str = registry.DEFAULT_MODEL,
    kind: Kind | str = Kind.DIGIT,
    source: Source = Source.API,
    user_agent: str = "",
    canvas_width: int | None = None,
    canvas_height: int | None = None,
    client_id: str = "",
    strokes: list[Any] | None = None,
    writer: str = "",
    external_id: str | None = None,
    label: int | None = None,
    label_source: LabelSource | str = "",
    user_label: int | None = None,
    number_label: str = "",
    user_number_label: str = "",
    excluded_from_training: bool = False,
    explain: bool = False,
    drawing_id: uuid.UUID | None = None,
) -> Drawing:
    """Validate and store a drawing, then enqueue its prediction once the row is committed. With
    `explain`, the job also computes the saliency map of its answer (single digits only)."""
    registry.check_name(model_name)
    began = time.perf_counter()
    image_format, processed = drawing_image_read(image=image, kind=kind)
    preprocess_ms = round((time.perf_counter() - began) * 1000, 3) if processed else None
    # One INSERT commits by itself (a BEGIN and a COMMIT fewer); the task is sent once it has, or, inside
    # a caller's transaction (an import's batch), once that commits.
    drawing = Drawing.objects.create(
        id=drawing_id or uuid.uuid4(),
        image=image,
        image_format=image_format,
        model_input=processed.pixels.tobytes() if processed else None,
        processed_image=processed.png if processed else None,
        thumbnail=processed.thumbnail if processed else None,
        preprocess_ms=preprocess_ms,
        model_name=model_name,
        kind=kind,
        source=source,
        user_agent=user_agent[:400],
        canvas_width=canvas_width,
        canvas_height=canvas_height,
        client_id=client_id,
        strokes=strokes,
        writer=writer,
        external_id=external_id,
        label=label,
        label_source=label_source if label is not None else "",
        labelled_at=timezone.now() if label is not None else None,
        user_label=user_label,
        user_labelled_at=timezone.now() if user_label is not None else None,
        number_label=number_label,
        user_number_label=user_number_label,
        excluded_from_training=excluded_from_training,
        explain=explain,
    )
    transaction.on_commit(lambda: drawing_enqueue(drawing_id=str(drawing.id)))
    metrics.DRAWINGS_SUBMITTED.labels(model_name).inc()
    return drawing


def drawing_create_and_wait(*, wait_seconds: float, **fields: Any) -> tuple[Drawing, dict[str, Any] | None]:
    """Create a drawing (as `drawing_create`) and, with `wait_seconds`, wait that long for its result:
    (the drawing as created, its finished result as the API shows it, or None if it did not finish in
    time). The wait is registered before the row exists, so the job's finish cannot come first."""
    if wait_seconds <= 0 or not finish_listener.subscribed(timeout=1.0):
        return drawing_create(**fields), None
    drawing_id = uuid.uuid4()
    with finish_listener.waiting(str(drawing_id)) as waiter:
        drawing = drawing_create(drawing_id=drawing_id, **fields)
        if waiter is None:  # every waiting slot of this process is taken: answer 202 at once
            return drawing, None
        database_connection_release()
        if not waiter.wait(wait_seconds):
            return drawing, None
    if waiter.result is not None:
        return drawing, waiter.result
    result = drawing_result(Drawing.objects.get(pk=drawing_id))  # the subscription dropped: read the row
    return drawing, result if result["status"] in (Status.DONE, Status.FAILED) else None


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
            rows = model.predict(np.stack([processed.pixels for _, processed in group]))
            each = (time.perf_counter() - began) / len(group)
        except InferenceError as exc:
            finished += [_job_failed(drawing, exc.code, exc.message) for drawing, _ in group]
            continue
        for (drawing, processed), row in zip(group, rows, strict=True):
            finished.append(_digit_answer(drawing, model, processed, row, each))
    _drawings_finish(finished)
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
        drawing.saliency = _saliency_png(drawing, model, processed.pixels, int(np.argmax(probabilities)))
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


def _saliency_png(drawing: Drawing, model: DigitModel, pixels: Any, digit: int) -> bytes | None:
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
        saliency = _saliency_png(drawing, model, pixels, drawing.answer_class)
    if saliency is None:  # the request is dropped, so that nobody waits for it
        Drawing.objects.filter(pk=drawing.pk).update(explain=False)
    else:
        Drawing.objects.filter(pk=drawing.pk, saliency__isnull=True).update(saliency=saliency)
    drawing_finished_notify(drawing_id=str(drawing.pk))
    drawing.refresh_from_db()
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
    (that was a fifth of a worker's CPU per drawing, py-spy)."""
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
        drawing_finished_notify(drawing_id=str(drawing.id), result=drawing_result(drawing))


def drawing_fail(*, drawing_id: str, code: str, message: str) -> None:
    """Record an unexpected failure (time limit, crash) so it is never silent."""
    drawing = Drawing.objects.filter(pk=drawing_id).first()
    if drawing is not None and not drawing.is_finished:
        drawing.started_at = drawing.started_at or timezone.now()
        _drawings_finish([_job_failed(drawing, code, message)])


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


def _running_orphans(running: list[tuple[Any, str]]) -> list[Any]:
    """The running drawings (id, owner) whose owner stopped beating (no owner recorded: not orphans)."""
    owners = {owner for _, owner in running if owner}
    dead = {owner for owner in owners if not heartbeats.is_alive(kind="process", name=owner)}
    return [pk for pk, owner in running if owner in dead]


FEEDBACK_TOKEN_SALT = "webapp.drawings.feedback_token"


def _feedback_token(drawing_id: str | uuid.UUID, secret: str) -> str:
    return salted_hmac(FEEDBACK_TOKEN_SALT, str(drawing_id), secret=secret, algorithm="sha256").hexdigest()


def drawing_feedback_token(*, drawing_id: str | uuid.UUID) -> str:
    """The secret that lets whoever submitted a drawing say what it was: an HMAC of its id with
    SECRET_KEY, so nothing is stored (keys in SECRET_KEY_FALLBACKS still accept older tokens)."""
    return _feedback_token(drawing_id, settings.SECRET_KEY)


def drawing_feedback_record(*, drawing: Drawing, label: int, feedback_token: str) -> Drawing:
    """Keep the drawer's answer in `user_label`, given the drawing's feedback token (else FeedbackForbidden).

    It never touches the trusted `label`: whether training believes it is FINETUNE_TRUST_USER_LABELS's call.
    """
    _feedback_token_check(drawing, feedback_token)
    drawing.user_label = label
    drawing.user_labelled_at = timezone.now()
    drawing.save(update_fields=["user_label", "user_labelled_at"])
    return drawing


def drawing_number_feedback_record(*, drawing: Drawing, number: str, feedback_token: str) -> Drawing:
    """Keep the drawer's correction of a whole number in `user_number_label`, given the feedback token."""
    _feedback_token_check(drawing, feedback_token)
    drawing.user_number_label = number_validate(number=number)
    drawing.user_labelled_at = timezone.now()
    drawing.save(update_fields=["user_number_label", "user_labelled_at"])
    return drawing


def _feedback_token_check(drawing: Drawing, feedback_token: str) -> None:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(_feedback_token(drawing.pk, key), feedback_token or "") for key in secrets):
        raise FeedbackForbidden()


def drawings_requeue_stale(*, older_than_seconds: int | None = None) -> int:
    """Enqueue again drawings stuck queued (broker down at submit) or running on a lost worker.

    A running job is taken as soon as the process that claimed it stops beating (seconds after a
    SIGKILL), else once no worker could still be working on it (past the hard time limit).
    """
    seconds = settings.REQUEUE_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    now = timezone.now()
    queued_cutoff = now - timedelta(seconds=seconds)
    running_cutoff = now - timedelta(seconds=max(seconds, settings.TASK_TIME_LIMIT_SECONDS + 10))
    stale = Drawing.objects.annotate(last_sent=Coalesce("enqueued_at", "created_at")).filter(
        Q(status=Status.QUEUED, last_sent__lt=queued_cutoff) | Q(status=Status.RUNNING, started_at__lt=running_cutoff)
    )
    running = Drawing.objects.filter(
        status=Status.RUNNING,
        started_at__gte=running_cutoff,
        started_at__lt=now - timedelta(seconds=heartbeats.TTL_SECONDS),
    )
    stale_ids = list(stale.values_list("id", flat=True)[:1000])
    stale_ids += _running_orphans(list(running.values_list("id", "owner")[:1000]))
    sent = 0
    for drawing_id in stale_ids:
        if drawing_enqueue(drawing_id=str(drawing_id)):
            Drawing.objects.filter(pk=drawing_id).update(enqueued_at=timezone.now())
            sent += 1
    return sent


# Staff review and data import.


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


def drawing_rerun(*, drawing: Drawing, model_name: str) -> Drawing:
    """Send a drawing's image to another model as a new drawing, through the queue.

    The copy keeps the label (so the models can be compared on it) but is excluded from training:
    the original already stands for that image in the exported data.
    """
    return drawing_create(
        image=bytes(drawing.image),
        model_name=model_name,
        kind=drawing.kind,
        source=Source(drawing.source),
        canvas_width=drawing.canvas_width,
        canvas_height=drawing.canvas_height,
        client_id=drawing.client_id,
        strokes=drawing.strokes,
        writer=drawing.writer,
        label=drawing.label,
        label_source=drawing.label_source,
        user_label=drawing.user_label,
        number_label=drawing.number_label,
        user_number_label=drawing.user_number_label,
        excluded_from_training=True,
    )


def drawings_rerun(*, drawings: QuerySet[Drawing], model_name: str) -> list[Drawing]:
    """Re-run each drawing with `model_name` (see `drawing_rerun`); returns the new drawings."""
    registry.check_name(model_name)
    return [drawing_rerun(drawing=drawing, model_name=model_name) for drawing in drawings.order_by("created_at")]


@dataclass(frozen=True)
class DrawingImport:
    """One labelled digit from a data set; `image` renders the canvas PNG, only if it is new."""

    external_id: str
    label: int
    writer: str
    image: Callable[[], bytes]
    strokes: list[Any] | None = None
    client_id: str = ""
    # A drawing exported from an Inkwell database: skip it when that database is this one.
    original_id: str | None = None


@dataclass
class DrawingImportSummary:
    created: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def drawings_import(
    *, records: Iterable[DrawingImport], model_name: str = registry.DEFAULT_MODEL, batch_size: int = 500
) -> DrawingImportSummary:
    """Create labelled drawings from a data set, through the queue, skipping those already imported.

    Existing external ids are looked up a batch at a time, and each batch is one transaction, so a
    large data set imports quickly and its jobs are enqueued as each batch commits.
    """
    registry.check_name(model_name)
    summary = DrawingImportSummary()
    seen: set[str] = set()
    batch: list[DrawingImport] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            _drawings_import_batch(batch, model_name, seen, summary)
            batch = []
    if batch:
        _drawings_import_batch(batch, model_name, seen, summary)
    return summary


def _drawings_import_batch(
    batch: list[DrawingImport], model_name: str, seen: set[str], summary: DrawingImportSummary
) -> None:
    existing = set(
        Drawing.objects.filter(external_id__in=[r.external_id for r in batch]).values_list("external_id", flat=True)
    )
    original_ids = [r.original_id for r in batch if r.original_id]
    existing_ids = {str(pk) for pk in Drawing.objects.filter(pk__in=original_ids).values_list("pk", flat=True)}
    with transaction.atomic():
        for record in batch:
            if record.external_id in existing or record.external_id in seen or record.original_id in existing_ids:
                summary.skipped += 1
                continue
            seen.add(record.external_id)
            try:
                image = record.image()
                width, height = open_image(image).size
                drawing_create(
                    image=image,
                    model_name=model_name,
                    source=Source.IMPORT,
                    canvas_width=width,
                    canvas_height=height,
                    client_id=record.client_id,
                    strokes=record.strokes,
                    writer=record.writer,
                    external_id=record.external_id,
                    label=record.label,
                    label_source=LabelSource.IMPORT,
                )
            except (InferenceError, OSError) as exc:
                summary.failed += 1
                summary.errors.append(f"{record.external_id}: {exc}")
                continue
            summary.created += 1
