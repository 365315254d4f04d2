"""Importing labelled data sets as drawings, a batch per transaction, skipping what is there already."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from inference import registry
from inference.errors import InferenceError
from inference.preprocess import (
    open_image,
)
from webapp.drawings.models import Drawing, LabelSource, Source
from webapp.drawings.services.creation import drawing_create


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
