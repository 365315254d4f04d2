"""Image helpers shared by preprocessing, training and the data set readers: where the ink is, PNG
bytes as data URLs and back, and where pen strokes land on a canvas. Pure Python, NumPy and Pillow.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image

from inference.errors import ImageTooLarge, InvalidImage, UnsupportedFormat

Point = Sequence[float]
Stroke = Sequence[Point]

PNG_DATA_URL_PREFIX = "data:image/png;base64,"


class InkBox(NamedTuple):
    """Rows `top` to `bottom` and columns `left` to `right` (inclusive) that hold the ink."""

    top: int
    bottom: int
    left: int
    right: int

    def crop(self, image: np.ndarray) -> np.ndarray:
        """The part of `image` inside the box."""
        return image[self.top : self.bottom + 1, self.left : self.right + 1]


def ink_box(ink: np.ndarray, threshold: float) -> InkBox | None:
    """The smallest box around every pixel of `ink` (1.0 = ink) above `threshold`; None if there is none."""
    return mask_box(ink > threshold)


def mask_box(mask: np.ndarray) -> InkBox | None:
    """The smallest box around every true pixel of `mask`; None if there is none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return InkBox(int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]))


def png_to_data_url(png: bytes | memoryview) -> str:
    """PNG bytes as a `data:image/png;base64,...` URL, for an <img> or a JSON answer."""
    return PNG_DATA_URL_PREFIX + base64.b64encode(bytes(png)).decode()


def data_url_payload(value: str) -> str:
    """The base64 part of a `data:image/...;base64,...` URL; other media types and encodings are refused."""
    header, comma, payload = value[5:].partition(",")
    if not comma:
        raise InvalidImage("A data URL has a comma between its header and its data: `data:image/png;base64,...`.")
    media_type, *parameters = (part.strip().lower() for part in header.split(";"))
    if not media_type.startswith("image/"):
        raise UnsupportedFormat(f"The data URL holds {media_type or 'text/plain'}; send an image (PNG or JPEG).")
    if "base64" not in parameters:
        raise InvalidImage("Only base64 data URLs are accepted: `data:image/png;base64,...`.")
    return payload


def data_url_to_bytes(value: str, *, max_bytes: int) -> bytes:
    """An image data URL or bare base64 to bytes, refusing more than `max_bytes` before decoding anything."""
    encoded = data_url_payload(value) if value[:5].lower() == "data:" else value
    if len(encoded) > max_bytes * 4 // 3 + 4:
        raise ImageTooLarge(f"The image is over the limit of {max_bytes} bytes.")
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImage("`image` is not valid base64.") from exc


def place_strokes(
    strokes: Sequence[Stroke],
    *,
    canvas_size: int,
    height_fraction: float,
    centre: tuple[float, float] | None = None,
) -> list[list[tuple[float, float]]]:
    """Normalised strokes (y down) in canvas pixels: the ink's height becomes `height_fraction` of the
    canvas and its bounding box is centred on `centre` (the canvas centre by default)."""
    xs = [p[0] for stroke in strokes for p in stroke]
    ys = [p[1] for stroke in strokes for p in stroke]
    scale = canvas_size * height_fraction / max(max(ys) - min(ys), 1e-6)
    cx, cy = centre if centre is not None else (canvas_size / 2, canvas_size / 2)
    offset_x = cx - (max(xs) + min(xs)) / 2 * scale
    offset_y = cy - (max(ys) + min(ys)) / 2 * scale
    return [[(p[0] * scale + offset_x, p[1] * scale + offset_y) for p in stroke] for stroke in strokes]


def thumbnail_png(ink: np.ndarray, size: int) -> bytes:
    """An ink array (1.0 = ink) as a PNG of at most `size` x `size`, dark ink on white."""
    return thumbnail_png_of(Image.fromarray(((1.0 - ink) * 255).round().astype("uint8"), mode="L"), size)


def thumbnail_png_of(image: Image.Image, size: int) -> bytes:
    """An image as a PNG of at most `size` x `size` (the image is left as it was)."""
    image = image.copy()
    image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=1.0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
