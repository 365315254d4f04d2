"""Read labelled digits from data sets into `DrawingImport` records, drawn the way the page sends them.

Not a command (the leading underscore keeps Django from listing it): the readers behind `import_drawings`.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inference.answer import NOT_A_DIGIT
from inference.images import ink_box, place_strokes
from inference.preprocess import INK_THRESHOLD, ink_from_image, open_image
from inference.strokes import CANVAS_SIZE, HEIGHT_FRACTION, render_strokes, to_png_bytes
from webapp.drawings.services.imports import DrawingImport

# Widest a digit may be on the canvas when its height is scaled to HEIGHT_FRACTION (a wide "1" stroke).
MAX_WIDTH_FRACTION = 0.9


def _canvas_from_file(path: Path) -> bytes:
    return on_canvas(path.read_bytes())


def _png_from_strokes(strokes: Sequence[Any]) -> bytes:
    return to_png_bytes(render_strokes(strokes))


def on_canvas(data: bytes, *, canvas_size: int = CANVAS_SIZE, height_fraction: float = HEIGHT_FRACTION) -> bytes:
    """Place a small digit image on a white canvas the way the page sends a drawing.

    The ink is cropped, scaled so its height is `height_fraction` of the canvas and centred, dark on
    white. Images already canvas-sized (or blank ones, which the service then refuses) are kept as is.
    """
    image = open_image(data)
    if max(image.size) * 2 > canvas_size:
        return data
    ink = ink_from_image(image)
    box = ink_box(ink, INK_THRESHOLD)
    if box is None:
        return data
    crop = box.crop(ink)
    height, width = crop.shape
    scale = min(canvas_size * height_fraction / height, canvas_size * MAX_WIDTH_FRACTION / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.clip(np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.LANCZOS)), 0, 1)
    canvas = np.zeros((canvas_size, canvas_size), dtype=np.float32)
    top, left = (canvas_size - size[1]) // 2, (canvas_size - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = resized
    return to_png_bytes(Image.fromarray(np.round((1 - canvas) * 255).astype(np.uint8), mode="L"))


def folder_records(directory: Path, *, writer: str, prefix: str) -> Iterator[DrawingImport]:
    """A folder with a csv (`dataset.csv`, else the only .csv) of `image` paths and `label`s."""
    csv_path = directory / "dataset.csv"
    if not csv_path.is_file():
        found = sorted(directory.glob("*.csv"))
        if len(found) != 1:
            raise FileNotFoundError(f"{directory} needs a dataset.csv (columns image,label).")
        csv_path = found[0]
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        path = directory / row["image"]
        yield DrawingImport(
            external_id=f"{prefix}:{row['image']}",
            label=int(row["label"]),
            writer=writer,
            image=functools.partial(_canvas_from_file, path),
        )


def strokes_records(path: Path, *, prefix: str) -> Iterator[DrawingImport]:
    """unipen-dev JSON lines: `label`, `institution`, `writer`, `source` and normalised `strokes` (a letter's
    label makes a drawing labelled not a digit)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            strokes = record["strokes"]
            yield DrawingImport(
                external_id=f"{prefix}:{record['source']}",
                label=record_label(record["label"]),
                writer=f"{record['institution']}/{record['writer']}",
                image=functools.partial(_png_from_strokes, strokes),
                strokes=canvas_strokes(strokes),
            )


def record_label(label: int | str) -> int:
    """A data set's label as a drawing's: a digit, or NOT_A_DIGIT for anything else (unipen-dev's letters)."""
    text = str(label)
    return int(text) if text.isascii() and text.isdigit() and int(text) <= 9 else NOT_A_DIGIT


def canvas_strokes(
    strokes: Sequence[Sequence[Sequence[float]]],
    *,
    canvas_size: int = CANVAS_SIZE,
    height_fraction: float = HEIGHT_FRACTION,
) -> list[list[list[float]]]:
    """Normalised strokes in canvas pixels, placed as `render_strokes` draws them (what the page records)."""
    placed = place_strokes(strokes, canvas_size=canvas_size, height_fraction=height_fraction)
    return [[[round(x, 1), round(y, 1)] for x, y in stroke] for stroke in placed]


def export_records(path: Path) -> Iterator[DrawingImport]:
    """An `export_drawings` .npz: each drawing again, keyed by its external id (or its Inkwell id)."""
    with np.load(path, allow_pickle=True) as data:
        arrays: dict[str, Any] = {key: data[key] for key in data.files}
    for i, drawing_id in enumerate(arrays["ids"]):
        original = bytes(arrays["originals"][i])
        yield DrawingImport(
            external_id=str(arrays["external_ids"][i]) or f"inkwell:{drawing_id}",
            label=int(arrays["labels"][i]),
            writer=str(arrays["writers"][i]),
            client_id=str(arrays["client_ids"][i]),
            image=functools.partial(bytes, original),
            original_id=str(drawing_id),
        )
