"""Draw pen strokes the way the drawing page draws them: white canvas, black round-capped lines."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

from inference.images import Stroke, place_strokes

CANVAS_SIZE = 400
HEIGHT_FRACTION = 0.6
STROKE_WIDTH = 25


def render_strokes(
    strokes: Sequence[Stroke],
    *,
    canvas_size: int = CANVAS_SIZE,
    height_fraction: float = HEIGHT_FRACTION,
    stroke_width: float = STROKE_WIDTH,
    centre: tuple[float, float] | None = None,
) -> Image.Image:
    """Render normalised strokes (ink's longer side 1.0, y down) onto a square white canvas.

    The digit is placed by `inference.images.place_strokes`: its height is `height_fraction` of the
    canvas and its bounding box is centred on `centre` (canvas pixels; the canvas centre by default).
    """
    placed = place_strokes(strokes, canvas_size=canvas_size, height_fraction=height_fraction, centre=centre)
    return draw_strokes(placed, size=(canvas_size, canvas_size), stroke_width=stroke_width)


def draw_strokes(
    strokes: Sequence[Sequence[tuple[float, float]]], *, size: tuple[int, int], stroke_width: float = STROKE_WIDTH
) -> Image.Image:
    """Draw strokes already in canvas pixels onto a white canvas of `size` (width, height), as the page does."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    radius = stroke_width / 2
    for points in strokes:
        if len(points) > 1:
            draw.line(points, fill=0, width=max(1, round(stroke_width)), joint="curve")
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return image


def to_png_bytes(image: Image.Image) -> bytes:
    """Encode a PIL image as PNG bytes in its own mode (a greyscale canvas: small and quick to read)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def to_canvas_png(image: Image.Image) -> bytes:
    """Encode a PIL image as the page's canvas exports it (`toDataURL`): an opaque RGBA PNG."""
    return to_png_bytes(image.convert("RGBA"))
