"""Turn a canvas export (PNG or JPEG bytes) into a 28x28 MNIST-style image.

MNIST was made by fitting each digit into a 20x20 box (keeping its aspect ratio, anti-aliased) and
placing it in a 28x28 field so that its centre of mass sits at the centre. Doing the same to canvas
drawings is what lets models trained on MNIST read them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference.errors import BlankDrawing, ImageTooLarge, InvalidImage, UnsupportedFormat
from inference.images import ink_box, thumbnail_png

MAX_BYTES = 2 * 1024 * 1024
# Decoded pixels are bounded too: a tiny PNG of 4096x4096 cost 1.8 s and a gigabyte to decode.
MAX_SIDE = 2048
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG"})
FIELD = 28
BOX = 20
# Where MNIST's digits have their centre of mass (row and column index, measured on MNIST train).
MASS_CENTRE = 14.0
# Ink fainter than this (0..1) is anti-aliasing fringe or scanner dust, not part of the digit.
INK_THRESHOLD = 0.2


@dataclass(frozen=True)
class ProcessedDrawing:
    """The 28x28 array a model sees (float32, white ink on black, 0..1) and the same as a PNG."""

    pixels: np.ndarray
    png: bytes
    # A small picture of the whole drawing (ink on white), made once so lists never decode the original.
    thumbnail: bytes | None = None


def open_image(data: bytes) -> Image.Image:
    """Open PNG/JPEG bytes lazily, refusing oversized files and pixel bombs before decoding."""
    if len(data) > MAX_BYTES:
        raise ImageTooLarge(f"The image is {len(data)} bytes; the limit is {MAX_BYTES} bytes.")
    if not data:
        raise InvalidImage("The image is empty.")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc)) from exc
    except Exception as exc:
        raise InvalidImage("The data could not be read as an image.") from exc
    if image.format not in ACCEPTED_FORMATS:
        raise UnsupportedFormat(f"Images must be PNG or JPEG, not {image.format}.")
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLarge(f"The image is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}.")
    return image


def ink_from_image(image: Image.Image) -> np.ndarray:
    """Composite onto white, take luminance and invert: 1.0 is full ink, 0.0 is paper."""
    try:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(paper, rgba)
        luminance = image.convert("L")
        luminance.load()
    except Exception as exc:
        raise InvalidImage("The image data is corrupt or truncated.") from exc
    return 1.0 - np.asarray(luminance, dtype=np.float32) / 255.0


def fit_into_box(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink and scale the longer side to 20 px, keeping the aspect ratio."""
    box = ink_box(ink, INK_THRESHOLD)
    if box is None:
        raise BlankDrawing("The drawing is blank: draw a digit first.")
    crop = box.crop(ink)
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def centre_by_mass(box: np.ndarray) -> np.ndarray:
    """Place the box in a 28x28 field so that its centre of mass sits at the field's centre."""
    height, width = box.shape
    total = box.sum()
    centre_y = (box.sum(axis=1) @ np.arange(height)) / total
    centre_x = (box.sum(axis=0) @ np.arange(width)) / total
    top = int(round(MASS_CENTRE - centre_y))
    left = int(round(MASS_CENTRE - centre_x))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + height, FIELD), min(left + width, FIELD)
    field[y0:y1, x0:x1] = box[y0 - top : y1 - top, x0 - left : x1 - left]
    return field


def to_png(pixels: np.ndarray) -> bytes:
    """Encode a 0..1 array as an 8-bit greyscale PNG."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def preprocess_pixels(ink: np.ndarray) -> np.ndarray:
    """MNIST-style normalisation of an ink array of any size (1.0 = ink)."""
    field = centre_by_mass(fit_into_box(ink))
    peak = field.max()
    return field / peak if peak > 0 else field


def preprocess(data: bytes, *, thumbnail_size: int | None = None) -> ProcessedDrawing:
    """Bytes of a canvas export in, the 28x28 array a model sees (and its PNG) out; with
    `thumbnail_size`, also a thumbnail of the drawing from the same decoded ink."""
    ink = ink_from_image(open_image(data))
    pixels = preprocess_pixels(ink)
    thumbnail = thumbnail_png(ink, thumbnail_size) if thumbnail_size else None
    return ProcessedDrawing(pixels=pixels, png=to_png(pixels), thumbnail=thumbnail)
