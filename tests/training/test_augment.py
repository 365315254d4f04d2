"""Training augmentation: shape, range, reproducibility and the identity when switched off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.factories import mnist
from training.augment import NONE, Augmentation, augment


def digits(count: int = 64) -> tuple[np.ndarray, np.ndarray]:
    data = mnist()
    return data.x_train[:count], data.y_train[:count]


def test_augmentation_keeps_shape_dtype_and_range() -> None:
    images, labels = digits()
    out = augment(images, labels, Augmentation(), np.random.default_rng(0))
    assert out.shape == images.shape
    assert out.dtype == np.float32
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_augmentation_changes_the_images() -> None:
    images, labels = digits()
    out = augment(images, labels, Augmentation(), np.random.default_rng(0))
    assert np.abs(out - images).mean() > 0.02


def test_same_seed_gives_the_same_output_and_another_seed_does_not() -> None:
    images, labels = digits()
    first = augment(images, labels, Augmentation(), np.random.default_rng(42))
    second = augment(images, labels, Augmentation(), np.random.default_rng(42))
    other = augment(images, labels, Augmentation(), np.random.default_rng(43))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_all_ranges_zero_returns_the_input() -> None:
    images, labels = digits()
    zero = Augmentation(**{field.name: 0.0 for field in dataclasses.fields(Augmentation)})
    assert zero == NONE
    np.testing.assert_array_equal(augment(images, labels, zero, np.random.default_rng(0)), images)


@pytest.mark.parametrize("field", [field.name for field in dataclasses.fields(Augmentation)])
def test_each_distortion_alone_keeps_the_range_and_most_of_the_ink(field: str) -> None:
    images, labels = digits(32)
    spec = dataclasses.replace(NONE, **{field: getattr(Augmentation(), field)})
    out = augment(images, labels, spec, np.random.default_rng(1))
    assert out.shape == images.shape
    assert 0.0 <= out.min() and out.max() <= 1.0
    ratio = out.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert 0.4 < ratio.min() and ratio.max() < 2.5
