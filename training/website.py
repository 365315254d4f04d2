"""Website-style evaluation sets, passed through the same preprocessing as a live drawing.

HwD-1000 (pen digits, 28x28 PNGs) and unipen-dev (pen strokes, drawn onto a canvas the way the page
draws them, in several sizes, widths and placements). Never used for base training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.preprocess import preprocess
from inference.strokes import CANVAS_SIZE, render_strokes, to_png_bytes
from training.data import load_hwd1000, load_unipen


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


@dataclass(frozen=True)
class EvalSet:
    """Preprocessed 28x28 images, labels and (where known) who wrote each digit."""

    x: np.ndarray
    y: np.ndarray
    writers: np.ndarray


def hwd1000_set() -> EvalSet:
    """HwD-1000 through the full preprocessing."""
    pairs = load_hwd1000()
    x = np.stack([preprocess(png).pixels for png, _ in pairs])
    y = np.array([label for _, label in pairs], dtype=np.int64)
    return EvalSet(x=x, y=y, writers=np.array(["hwd1000"] * len(y)))


def unipen_set(variant: str = "standard") -> EvalSet:
    """unipen-dev drawn like the page draws (one variant), through the full preprocessing."""
    spec = UNIPEN_VARIANTS[variant]
    records = load_unipen()
    x = np.stack(
        [
            preprocess(
                to_png_bytes(
                    render_strokes(
                        r["strokes"],
                        height_fraction=spec.height_fraction,
                        stroke_width=spec.stroke_width,
                        centre=spec.centre,
                    )
                )
            ).pixels
            for r in records
        ]
    )
    y = np.array([r["label"] for r in records], dtype=np.int64)
    writers = np.array([f"{r['institution']}/{r['writer']}" for r in records])
    return EvalSet(x=x, y=y, writers=writers)
