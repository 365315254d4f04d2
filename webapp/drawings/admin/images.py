"""Pictures of a drawing for the admin: thumbnails, the large drawing with a number's boxes, probability bars."""

from __future__ import annotations

import io
from typing import Any

from django.utils.html import format_html, format_html_join
from PIL import Image, ImageDraw, ImageFont

from inference.errors import InferenceError
from inference.images import png_to_data_url, thumbnail_png
from inference.preprocess import ink_from_image, open_image
from inference.strokes import to_png_bytes
from webapp.drawings.models import Drawing, Kind

THUMBNAIL_SIZE = 56


def png_data_url(data: bytes | memoryview | None) -> str | None:
    if not data:
        return None
    return png_to_data_url(data)


def thumbnail_data_url(data: bytes | memoryview | None, size: int = THUMBNAIL_SIZE) -> str | None:
    """A small PNG of a stored drawing, ink on white, made from the original (for drawings whose job
    made none, and for the larger picture of a JPEG)."""
    if not data:
        return None
    try:
        ink = ink_from_image(open_image(bytes(data)))
    except InferenceError:
        return None
    return png_data_url(thumbnail_png(ink, size))


def drawing_image_url(drawing: Drawing) -> str | None:
    """The drawing as a data URL to show large; a number's with the box and answer of each digit."""
    if drawing.kind == Kind.NUMBER and drawing.digits:
        return png_data_url(boxes_png(bytes(drawing.image), drawing.digits))
    if drawing.image_format == "PNG":
        return png_data_url(drawing.image)
    return thumbnail_data_url(drawing.image, 400)


def boxes_png(image: bytes, digits: list[dict[str, Any]]) -> bytes:
    """The drawing with each found digit's box and answer drawn on it."""
    picture = Image.open(io.BytesIO(image)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=max(16, picture.height // 12))
    for found in digits:
        x, y, w, h = found["box"]
        draw.rectangle((x, y, x + w, y + h), outline=(220, 40, 40), width=max(2, picture.height // 150))
        draw.text((x + 2, y + 2), str(found["digit"]), fill=(220, 40, 40), font=font, anchor="lt")
    return to_png_bytes(picture)


def probabilities(drawing: Drawing) -> list[dict[str, Any]]:
    if not drawing.probabilities:
        return []
    rows = [
        {"digit": digit, "percent": round(100 * p, 1), "predicted": digit == drawing.digit}
        for digit, p in enumerate(drawing.probabilities)
    ]
    if drawing.not_a_digit_probability is not None:
        percent = round(100 * drawing.not_a_digit_probability, 1)
        rows.append({"digit": "not a digit", "percent": percent, "predicted": drawing.not_a_digit})
    return rows


def probability_table(drawing: Drawing) -> str:
    rows = probabilities(drawing)
    if not rows:
        return "—"
    return format_html(
        "<table>{}</table>",
        format_html_join(
            "",
            '<tr><td>{}</td><td style="width:200px"><div style="background:{};height:10px;width:{}%"></div>'
            "</td><td>{}%</td></tr>",
            ((row["digit"], "#417690" if row["predicted"] else "#999", row["percent"], row["percent"]) for row in rows),
        ),
    )
