"""Turn a canvas export (PNG or JPEG bytes) into a 28x28 MNIST-style image.

MNIST was made by fitting each digit into a 20x20 box (keeping its aspect ratio, anti-aliased) and
placing it in a 28x28 field so that its centre of mass sits at the centre. Doing the same to canvas
drawings is what lets models trained on MNIST read them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyspng
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from inference.errors import BlankDrawing, ImageTooLarge, InvalidImage, UnsupportedFormat
from inference.images import ink_box, mask_box, thumbnail_png_of

MAX_BYTES = 2 * 1024 * 1024
# Decoded pixels are bounded too: a tiny PNG of 4096x4096 cost 1.8 s and a gigabyte to decode.
MAX_SIDE = 2048
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG"})
# PNG modes (and their channels) that libspng decodes, at 8 bits per channel, to the very pixels Pillow
# gives; other PNGs (palette, 16-bit, a transparent colour) and JPEGs are decoded by Pillow.
FAST_PNG_CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}
FIELD = 28
BOX = 20
# Where MNIST's digits have their centre of mass (row and column index, measured on MNIST train).
MASS_CENTRE = 14.0
# Ink fainter than this (0..1) is anti-aliasing fringe or scanner dust, not part of the digit.
INK_THRESHOLD = 0.2
# Strokes wider than this fraction of the digit's longer side are thinned to it before scaling: a digit
# drawn small with the page's pen is otherwise a blot once fitted into 20x20. Three quarters of MNIST's
# digits are thinner (quartiles 0.12, 0.14, 0.17 on MNIST train); chosen on unipen-dev small.
MAX_STROKE_WIDTH = 0.16
# The ink (0..1) of each 8-bit luminance level, by the same float32 arithmetic as converting a whole
# image: looking a level up gives the very value the conversion would.
INK_OF_LEVEL = 1.0 - np.arange(256, dtype=np.float32) / 255.0
# Ink falls as the level rises: levels below this one are ink above INK_THRESHOLD.
FIRST_PAPER_LEVEL = int(np.flatnonzero(INK_OF_LEVEL <= INK_THRESHOLD)[0])
# Thinning works at most at this resolution (the longer side, in px), so its cost does not grow with
# the canvas.
THINNING_SIDE = 80


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


def _png_pixels(image: Image.Image, data: bytes) -> np.ndarray | None:
    """The pixels of a PNG of the modes libspng decodes exactly as Pillow does (H x W or H x W x channels,
    uint8); None for any other image, which Pillow decodes."""
    channels = FAST_PNG_CHANNELS.get(image.mode)
    if image.format != "PNG" or channels is None or "transparency" in image.info:
        return None
    try:
        pixels = pyspng.load(data)
    except RuntimeError as exc:
        raise InvalidImage("The image data is corrupt or truncated.") from exc
    if pixels.dtype != np.uint8:  # 16 bits per channel: Pillow keeps the high byte; let it decode
        return None
    if pixels.size != image.width * image.height * channels:
        raise InvalidImage("The image data does not match its header.")
    return pixels.reshape((image.height, image.width) if channels == 1 else (image.height, image.width, channels))


def _opaque(rgba: np.ndarray) -> bool:
    """Whether every pixel of an H x W x 4 array is fully opaque (a canvas filled with white is)."""
    return bool((np.ascontiguousarray(rgba).reshape(-1).view("<u4") >= 0xFF000000).all())


def luminance_of(image: Image.Image) -> Image.Image:
    """The image composited onto white, as 8-bit luminance (mode L): 0 is black ink, 255 is paper."""
    try:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(paper, rgba)
        luminance = image.convert("L")
        luminance.load()
    except Exception as exc:
        raise InvalidImage("The image data is corrupt or truncated.") from exc
    return luminance


def read_luminance(image: Image.Image, data: bytes) -> Image.Image:
    """`luminance_of` the image opened from `data` by `open_image`, decoding common PNGs with libspng
    (pyspng; 4x Pillow on a canvas export) and skipping the compositing when nothing is transparent."""
    pixels = _png_pixels(image, data)
    if pixels is None:
        return luminance_of(image)
    if pixels.ndim == 3 and pixels.shape[2] == 4 and _opaque(pixels):
        return Image.fromarray(pixels).convert("L")  # alpha all 255: compositing onto white changes nothing
    return luminance_of(Image.fromarray(pixels))


def luminance_from_bytes(data: bytes) -> Image.Image:
    """PNG or JPEG bytes, checked by `open_image`, as 8-bit luminance on white."""
    return read_luminance(open_image(data), data)


def ink_from_image(image: Image.Image) -> np.ndarray:
    """Composite onto white, take luminance and invert: 1.0 is full ink, 0.0 is paper."""
    return INK_OF_LEVEL[np.asarray(luminance_of(image))]


def _resized(ink: np.ndarray, scale: float) -> np.ndarray:
    height, width = ink.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def stroke_width(ink: np.ndarray) -> float:
    """The mean width in pixels of the strokes (ink over half strength): twice their area over the
    length of their outline."""
    solid = ink > 0.5
    inside = np.zeros_like(solid)
    inside[1:-1, 1:-1] = solid[1:-1, 1:-1] & solid[:-2, 1:-1] & solid[2:, 1:-1] & solid[1:-1, :-2] & solid[1:-1, 2:]
    outline = int((solid & ~inside).sum())
    return 2.0 * float(solid.sum()) / outline if outline else 0.0


def _eroded(ink: np.ndarray, radius: int) -> np.ndarray:
    """Ink eroded by a (2 radius + 1)-pixel square: a minimum over rows, then over columns."""
    window = 2 * radius + 1
    rows = sliding_window_view(np.pad(ink, ((0, 0), (radius, radius))), window, axis=1).min(axis=-1)
    return sliding_window_view(np.pad(rows, ((radius, radius), (0, 0))), window, axis=0).min(axis=-1)


def thin_strokes(crop: np.ndarray) -> np.ndarray:
    """The cropped ink with strokes wider than MAX_STROKE_WIDTH of its longer side thinned to that,
    cropped again; unchanged when they are not."""
    side = max(crop.shape)
    excess = stroke_width(crop) - MAX_STROKE_WIDTH * side
    if excess < 2:
        return crop
    if side > THINNING_SIDE:
        scale = THINNING_SIDE / side
        crop, excess = _resized(crop, scale), excess * scale
    radius = int(excess // 2)
    if radius < 1:
        return crop
    thinned = _eroded(crop, radius)
    box = ink_box(thinned, INK_THRESHOLD)
    return crop if box is None else box.crop(thinned)


def fit_into_box(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, thin strokes that are too wide, and scale the longer side to 20 px, keeping
    the aspect ratio."""
    box = ink_box(ink, INK_THRESHOLD)
    if box is None:
        raise BlankDrawing("The drawing is blank: draw a digit first.")
    crop = thin_strokes(box.crop(ink))
    return _resized(crop, BOX / max(crop.shape))


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
    `thumbnail_size`, also a thumbnail of the drawing from the same decoded image."""
    return preprocess_luminance(luminance_from_bytes(data), thumbnail_size=thumbnail_size)


def preprocess_luminance(luminance: Image.Image, *, thumbnail_size: int | None = None) -> ProcessedDrawing:
    """`preprocess` of an image already decoded to luminance (`luminance_from_bytes`).

    Only the part of the image that holds ink is turned into floats (the same values as
    `ink_from_image` of the whole image, so the same result): most of a canvas is paper."""
    levels = np.asarray(luminance)
    box = mask_box(levels < FIRST_PAPER_LEVEL)
    if box is None:
        raise BlankDrawing("The drawing is blank: draw a digit first.")
    pixels = preprocess_pixels(INK_OF_LEVEL[box.crop(levels)])
    thumbnail = thumbnail_png_of(luminance, thumbnail_size) if thumbnail_size else None
    return ProcessedDrawing(pixels=pixels, png=to_png(pixels), thumbnail=thumbnail)
