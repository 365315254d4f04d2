"""Random distortions of 28x28 digits, vectorised over a batch, used by every model's training.

Website drawings differ from MNIST in slant, size, proportions, placement and stroke width; each
augmentation below imitates one of those differences. `conventions` adds the writing habits MNIST
lacks (slashed zeros, flagged ones, crossed sevens; see `training.conventions`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.conventions import CONVENTIONS, add_conventions

SIDE = 28
CENTRE = (SIDE - 1) / 2
CHUNK = 4096


@dataclass(frozen=True)
class Augmentation:
    """Ranges of the random distortions; zero turns one off."""

    rotation_degrees: float = 12.0
    scale: float = 0.12
    aspect: float = 0.12
    shear: float = 0.25
    shift: float = 2.0
    # Elastic distortion is available but off: it cost 0.9 points on unipen standard in the ablation (docs/models.md).
    elastic: float = 0.0
    thickness: float = 0.8
    # Share of zeros, ones and sevens drawn with their convention's extra stroke.
    conventions: float = 0.3

    def describe(self) -> dict[str, float]:
        return dict(self.__dict__)


NONE = Augmentation(0, 0, 0, 0, 0, 0, 0, 0)


def _upsample_matrix(coarse: int) -> np.ndarray:
    """(28, coarse) bilinear interpolation weights from a coarse grid to the full grid."""
    positions = np.linspace(0, coarse - 1, SIDE)
    lower = np.clip(np.floor(positions).astype(int), 0, coarse - 2)
    fraction = positions - lower
    matrix = np.zeros((SIDE, coarse), dtype=np.float32)
    matrix[np.arange(SIDE), lower] = 1 - fraction
    matrix[np.arange(SIDE), lower + 1] = fraction
    return matrix


def _sample_bilinear(images: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sample each image at (ys, xs) (both (B, 28, 28)), reading zeros outside the image."""
    batch = images.shape[0]
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    wy = (ys - y0).astype(np.float32)
    wx = (xs - x0).astype(np.float32)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    index = np.arange(batch)[:, None, None]

    def at(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        y = np.clip(y + 1, 0, SIDE + 1)
        x = np.clip(x + 1, 0, SIDE + 1)
        return padded[index, y, x]

    top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
    bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


def _neighbourhood(images: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """Max (dilation) or min (erosion) over each pixel's 3x3 cross."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    views = [
        padded[:, 1:-1, 1:-1],
        padded[:, :-2, 1:-1],
        padded[:, 2:, 1:-1],
        padded[:, 1:-1, :-2],
        padded[:, 1:-1, 2:],
    ]
    return reduce.reduce(np.stack(views), axis=0)


def _change_thickness(images: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Blend towards dilation (amount > 0) or erosion (amount < 0) by |amount|."""
    thicker = _neighbourhood(images, np.maximum)
    thinner = _neighbourhood(images, np.minimum)
    weight = np.abs(amount)[:, None, None].astype(np.float32)
    target = np.where((amount > 0)[:, None, None], thicker, thinner)
    return images + weight * (target - images)


def _augment_chunk(images: np.ndarray, spec: Augmentation, rng: np.random.Generator) -> np.ndarray:
    batch = images.shape[0]
    angle = np.deg2rad(rng.uniform(-spec.rotation_degrees, spec.rotation_degrees, batch))
    scale = 1 + rng.uniform(-spec.scale, spec.scale, batch)
    aspect = 1 + rng.uniform(-spec.aspect, spec.aspect, batch)
    shear = rng.uniform(-spec.shear, spec.shear, batch)
    shift = rng.uniform(-spec.shift, spec.shift, (batch, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    # Inverse map: for each output pixel, where to read in the source image.
    sx, sy = 1 / (scale * aspect), aspect / scale
    a = np.stack([cos * sy, -sin * sx + shear * cos * sy], axis=1)  # dy row
    b = np.stack([sin * sy, cos * sx + shear * sin * sy], axis=1)  # dx row
    grid_y, grid_x = np.meshgrid(np.arange(SIDE) - CENTRE, np.arange(SIDE) - CENTRE, indexing="ij")
    ys = a[:, 0, None, None] * grid_y + a[:, 1, None, None] * grid_x + CENTRE - shift[:, 0, None, None]
    xs = b[:, 0, None, None] * grid_y + b[:, 1, None, None] * grid_x + CENTRE - shift[:, 1, None, None]
    if spec.elastic > 0:
        upsample = _upsample_matrix(4)
        coarse = rng.normal(0, spec.elastic, (2, batch, 4, 4)).astype(np.float32)
        field = np.einsum("ik,cbkl,jl->cbij", upsample, coarse, upsample)
        ys, xs = ys + field[0], xs + field[1]
    out = _sample_bilinear(images, ys, xs)
    if spec.thickness > 0:
        out = _change_thickness(out, rng.uniform(-spec.thickness, spec.thickness, batch))
    out = np.clip(out, 0.0, 1.0)
    # Preprocessing stretches every drawing to full contrast, so training images get the same.
    peak = out.max(axis=(1, 2), keepdims=True)
    return (out / np.where(peak > 0, peak, 1.0)).astype(np.float32)


def augment(images: np.ndarray, labels: np.ndarray, spec: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """A randomly distorted copy of (N, 28, 28) images in [0, 1] (the input itself for `NONE`)."""
    if spec == NONE:
        return images
    if spec.conventions > 0:
        images = add_conventions(images, labels, dict.fromkeys(CONVENTIONS, spec.conventions), rng)
    parts = [_augment_chunk(images[start : start + CHUNK], spec, rng) for start in range(0, len(images), CHUNK)]
    return np.concatenate(parts)
