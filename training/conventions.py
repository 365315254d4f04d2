"""Writing conventions that MNIST (American writers) almost never shows, drawn onto its digits.

Many people slash their zeros, give their ones a long flag (the European "1") and cross their
sevens. A model that has never seen them reads a slashed zero as an 8 and a flagged one as a 7.
Each convention is one extra pen stroke, drawn at four times MNIST's resolution in the digit's own
stroke width, after which the digit is fitted and centred again exactly as the site's preprocessing
does with a drawing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from inference.images import ink_box
from inference.preprocess import FIELD, preprocess_pixels

UPSCALE = 4
INK = 0.5


def _upsample(image: np.ndarray) -> np.ndarray:
    big = Image.fromarray(image.astype(np.float32)).resize(
        (FIELD * UPSCALE, FIELD * UPSCALE), Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(big, dtype=np.float32), 0.0, 1.0)


def stroke_width(ink: np.ndarray) -> float:
    """Mean pen width in pixels: a stroke of width w and length L has area w*L and outline 2L."""
    solid = ink > INK
    padded = np.pad(solid, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    outline = np.count_nonzero(solid & ~inside)
    return 2.0 * np.count_nonzero(solid) / max(outline, 1)


def draw_segment(ink: np.ndarray, start: tuple[float, float], end: tuple[float, float], width: float) -> np.ndarray:
    """`ink` with an anti-aliased round-capped pen stroke from `start` to `end` ((y, x) pixels)."""
    rows, cols = np.mgrid[0 : ink.shape[0], 0 : ink.shape[1]].astype(np.float32)
    (y0, x0), (y1, x1) = start, end
    dy, dx = y1 - y0, x1 - x0
    along = np.clip(((rows - y0) * dy + (cols - x0) * dx) / max(dy * dy + dx * dx, 1e-6), 0.0, 1.0)
    distance = np.hypot(rows - (y0 + along * dy), cols - (x0 + along * dx))
    stroke = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)
    return np.maximum(ink, stroke)


def _solid_box(ink: np.ndarray) -> tuple[Any, Any, Any, Any]:
    """Top, bottom, left and right of the solid ink as NumPy integers: with them the stroke arithmetic
    below stays in float64 (NEP 50), so a seed draws the same conventions as before."""
    box = ink_box(ink, INK)
    if box is None:
        raise ValueError("The image has no solid ink to draw a convention against.")
    top, bottom, left, right = (np.intp(value) for value in box)
    return top, bottom, left, right


def slash_zero(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slash from below left to above right through the zero, reaching past its outline."""
    top, bottom, left, right = _solid_box(ink)
    height = bottom - top
    centre_y = (top + bottom) / 2 + rng.uniform(-0.05, 0.05) * height
    centre_x = (left + right) / 2 + rng.uniform(-0.05, 0.05) * height
    angle = np.deg2rad(rng.uniform(50, 80))
    half_length = height / 2 * rng.uniform(1.05, 1.35) / np.sin(angle)
    dy, dx = half_length * np.sin(angle), half_length * np.cos(angle)
    return draw_segment(ink, (centre_y + dy, centre_x - dx), (centre_y - dy, centre_x + dx), stroke_width(ink))


def flag_one(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flag from the top of the one's stem down to the left, as in the European "1"."""
    top, bottom, _, _ = _solid_box(ink)
    height = bottom - top
    head = ink[top : top + max(2, height // 12)] > INK
    head_x = float(np.mean(np.nonzero(head)[1]))
    length = height * rng.uniform(0.3, 0.5)
    angle = np.deg2rad(rng.uniform(15, 50))
    start = (top + 0.5, head_x)
    end = (top + length * np.sin(angle), head_x - length * np.cos(angle))
    return draw_segment(ink, start, end, stroke_width(ink))


def cross_seven(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A short bar across the seven's stem, a little above its middle."""
    top, bottom, left, right = _solid_box(ink)
    height = bottom - top
    row = int(top + height * rng.uniform(0.45, 0.6))
    stem = np.flatnonzero(ink[row] > INK)
    centre_x = float(stem.mean()) if stem.size else (left + right) / 2
    half = max(right - left, height * 0.4) * rng.uniform(0.2, 0.3)
    end_row = row + rng.uniform(-0.05, 0.05) * height
    return draw_segment(ink, (row, centre_x - half), (end_row, centre_x + half), stroke_width(ink))


CONVENTIONS = {0: slash_zero, 1: flag_one, 7: cross_seven}


def add_conventions(
    images: np.ndarray, labels: np.ndarray, rates: dict[int, float], rng: np.random.Generator
) -> np.ndarray:
    """A copy of (N, 28, 28) images where a share `rates[digit]` of each digit carries its convention."""
    out = images.copy()
    for digit, rate in rates.items():
        if rate <= 0:
            continue
        chosen = np.flatnonzero((labels == digit) & (rng.random(len(labels)) < rate))
        for index in chosen:
            ink = _upsample(images[index])
            if (ink > INK).any():  # a faint or empty image has no outline to draw against
                out[index] = preprocess_pixels(CONVENTIONS[digit](ink, rng))
    return out
