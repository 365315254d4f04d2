"""Creating drawings: check and store the image and what the model will see, then enqueue the job."""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from inference import registry
from inference.errors import BlankDrawing
from inference.preprocess import (
    FIRST_PAPER_LEVEL,
    ProcessedDrawing,
    open_image,
    preprocess_luminance,
    read_luminance,
)
from webapp.core import metrics
from webapp.drawings.models import Drawing, Kind, LabelSource, Source, Status
from webapp.drawings.notifications import finish_listener
from webapp.drawings.queue import drawing_enqueue
from webapp.drawings.selectors import database_connection_release
from webapp.drawings.serializers import drawing_result

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
