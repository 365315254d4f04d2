"""How unipen-dev's pen strokes are drawn to make website-style test drawings: the page's standard
size and stroke width, and harder variants (small, thin, thick, off-centre). Never used for base
training; `training.evaluation.accuracy` renders and caches them."""

from __future__ import annotations

from dataclasses import dataclass

from inference.strokes import CANVAS_SIZE


@dataclass(frozen=True)
class Variant:
    """How unipen strokes are drawn on the 400 px canvas."""

    height_fraction: float = 0.6
    stroke_width: float = 25
    centre: tuple[float, float] | None = None


UNIPEN_VARIANTS = {
    "standard": Variant(),
    "small": Variant(height_fraction=0.25),
    "thin": Variant(stroke_width=8),
    "thick": Variant(stroke_width=45),
    "off-centre": Variant(height_fraction=0.4, centre=(CANVAS_SIZE * 0.28, CANVAS_SIZE * 0.7)),
}
