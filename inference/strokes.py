"""Draw pen strokes the way the drawing page draws them: white canvas, black round-capped lines."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

Point = Sequence[float]
Stroke = Sequence[Point]

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

    The digit is scaled so its height is `height_fraction` of the canvas and its bounding box is
    centred on `centre` (canvas pixels; the canvas centre by default).
    """
    xs = [p[0] for stroke in strokes for p in stroke]
    ys = [p[1] for stroke in strokes for p in stroke]
    ink_height = max(max(ys) - min(ys), 1e-6)
    scale = canvas_size * height_fraction / ink_height
    cx, cy = centre if centre is not None else (canvas_size / 2, canvas_size / 2)
    offset_x = cx - (max(xs) + min(xs)) / 2 * scale
    offset_y = cy - (max(ys) + min(ys)) / 2 * scale
    image = Image.new("L", (canvas_size, canvas_size), 255)
    draw = ImageDraw.Draw(image)
    radius = stroke_width / 2
    for stroke in strokes:
        points = [(p[0] * scale + offset_x, p[1] * scale + offset_y) for p in stroke]
        if len(points) > 1:
            draw.line(points, fill=0, width=max(1, round(stroke_width)), joint="curve")
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=0)
    return image


def to_png_bytes(image: Image.Image) -> bytes:
    """Encode a PIL image as PNG bytes, as a canvas export would be."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
