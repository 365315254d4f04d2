"""`manage.py export_drawings OUT.npz`: the labelled drawings, ready for training."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandParser
from PIL import Image

from inference.errors import InferenceError
from inference.preprocess import preprocess
from webapp.drawings.models import USER_LABEL_SOURCE, Drawing, LabelSource
from webapp.drawings.selectors import drawings_for_export, training_label_source


class Command(BaseCommand):
    help = (
        "Write the labelled drawings not excluded from training to an .npz: `images` (N, 28, 28) float32 "
        "as the model sees them, `originals` (the submitted image bytes; object array, so load with "
        "allow_pickle=True), `labels`, `predictions` (-1 if none), `confidences`, `ids`, `external_ids`, "
        "`writers`, `client_ids`, `sources`, `label_sources` (staff, import, or user where the drawer's answer "
        "stands in: FINETUNE_TRUST_USER_LABELS), `user_labels` (the drawer's answer, -1 if none), `model_names`, "
        "`model_versions` (-1 if none) and `created_at` (datetime64, UTC)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="The .npz file to write.")
        parser.add_argument(
            "--since", type=date.fromisoformat, help="Only drawings made on or after this day (YYYY-MM-DD, UTC)."
        )
        parser.add_argument(
            "--until", type=date.fromisoformat, help="Only drawings made on or before this day (YYYY-MM-DD, UTC)."
        )
        parser.add_argument(
            "--label-source", choices=[*LabelSource.values, USER_LABEL_SOURCE], help="Only labels from this source."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        drawings = drawings_for_export(
            since=options["since"], until=options["until"], label_source=options["label_source"]
        )
        columns: dict[str, list[Any]] = {name: [] for name in EXPORT_COLUMNS}
        skipped = 0
        for drawing in drawings.iterator(chunk_size=500):
            try:
                pixels = processed_pixels(drawing)
            except InferenceError as exc:
                skipped += 1
                self.stderr.write(f"Skipped {drawing.pk}: {exc}")
                continue
            for name, value in export_row(drawing, pixels).items():
                columns[name].append(value)
        np.savez_compressed(options["out"], **export_arrays(columns))
        self.stdout.write(f"Exported {len(columns['ids'])} drawings to {options['out']} ({skipped} skipped).")


EXPORT_COLUMNS = (
    "images",
    "originals",
    "labels",
    "predictions",
    "confidences",
    "ids",
    "external_ids",
    "writers",
    "client_ids",
    "sources",
    "label_sources",
    "user_labels",
    "model_names",
    "model_versions",
    "created_at",
)


def processed_pixels(drawing: Drawing) -> np.ndarray:
    """The 28x28 image the model saw (0..1), from the stored PNG, or preprocessed now if there is none."""
    png = bytes(drawing.processed_image) if drawing.processed_image else preprocess(bytes(drawing.image)).png
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32) / 255.0


def export_row(drawing: Drawing, pixels: np.ndarray) -> dict[str, Any]:
    return {
        "images": pixels,
        "originals": bytes(drawing.image),
        "labels": drawing.training_label,  # type: ignore[attr-defined]  # annotated by training_labelled()
        "predictions": -1 if drawing.digit is None else drawing.digit,
        "confidences": np.nan if drawing.confidence is None else drawing.confidence,
        "ids": str(drawing.pk),
        "external_ids": drawing.external_id or "",
        "writers": drawing.writer,
        "client_ids": drawing.client_id,
        "sources": drawing.source,
        "label_sources": training_label_source(drawing),
        "user_labels": -1 if drawing.user_label is None else drawing.user_label,
        "model_names": drawing.model_name,
        "model_versions": -1 if drawing.model_version is None else drawing.model_version,
        "created_at": np.datetime64(drawing.created_at.replace(tzinfo=None), "us"),
    }


def export_arrays(columns: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    originals = np.empty(len(columns["originals"]), dtype=object)
    originals[:] = columns["originals"]
    return {
        "images": np.stack(columns["images"]) if columns["images"] else np.zeros((0, 28, 28), np.float32),
        "originals": originals,
        "labels": np.array(columns["labels"], dtype=np.int64),
        "predictions": np.array(columns["predictions"], dtype=np.int64),
        "user_labels": np.array(columns["user_labels"], dtype=np.int64),
        "confidences": np.array(columns["confidences"], dtype=np.float32),
        "model_versions": np.array(columns["model_versions"], dtype=np.int64),
        "created_at": np.array(columns["created_at"], dtype="datetime64[us]"),
        **{
            name: np.array(columns[name], dtype=str)
            for name in (
                "ids",
                "external_ids",
                "writers",
                "client_ids",
                "sources",
                "label_sources",
                "model_names",
            )
        },
    }
