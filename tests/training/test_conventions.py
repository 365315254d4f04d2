"""Writing-convention augmentation: each extra stroke lands where the convention puts it, and the
result is still an MNIST-style image."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.factories import mnist
from training.conventions import (
    CONVENTIONS,
    add_conventions,
    cross_seven,
    draw_segment,
    flag_one,
    slash_zero,
    stroke_width,
)


def digits_of(label: int, count: int = 16) -> np.ndarray:
    data = mnist()
    return data.x_train[data.y_train == label][:count]


def ink_box_aspect(ink: np.ndarray) -> float:
    rows = np.flatnonzero((ink > 0.5).any(axis=1))
    cols = np.flatnonzero((ink > 0.5).any(axis=0))
    return (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)


def test_stroke_width_roughly_measures_a_drawn_pen_stroke() -> None:
    canvas = np.zeros((112, 112), dtype=np.float32)
    for start, end in [((20.0, 20.0), (90.0, 80.0)), ((20.0, 56.0), (92.0, 56.0))]:
        thin = stroke_width(draw_segment(canvas, start, end, width=8.0))
        thick = stroke_width(draw_segment(canvas, start, end, width=16.0))
        assert 5.5 < thin < 10.5
        assert 1.6 < thick / thin < 2.4


def test_slashed_zero_has_ink_in_the_hole_and_past_the_outline() -> None:
    rng = np.random.default_rng(0)
    for zero in digits_of(0, 8):
        big = np.asarray(Image.fromarray(zero).resize((112, 112)), dtype=np.float32)
        slashed = slash_zero(big, rng)
        assert slashed[52:60, 52:60].mean() > big[52:60, 52:60].mean() + 0.2
        rows = np.flatnonzero((slashed > 0.5).any(axis=1))
        old_rows = np.flatnonzero((big > 0.5).any(axis=1))
        assert rows[-1] - rows[0] > old_rows[-1] - old_rows[0]


def test_flagged_one_is_wider_than_the_plain_one() -> None:
    rng = np.random.default_rng(0)
    ones = digits_of(1, 8)
    flagged = add_conventions(ones, np.ones(len(ones), dtype=np.int64), {1: 1.0}, rng)
    assert np.mean([ink_box_aspect(f) for f in flagged]) > np.mean([ink_box_aspect(o) for o in ones]) + 0.1


def test_conventions_touch_only_their_digits_at_their_rate() -> None:
    data = mnist()
    images, labels = data.x_train[:300], data.y_train[:300]
    out = add_conventions(images, labels, dict.fromkeys(CONVENTIONS, 1.0), np.random.default_rng(0))
    changed = np.abs(out - images).max(axis=(1, 2)) > 0.05
    has_convention = np.isin(labels, list(CONVENTIONS))
    assert changed[has_convention].all()
    assert not changed[~has_convention].any()
    none = add_conventions(images, labels, dict.fromkeys(CONVENTIONS, 0.0), np.random.default_rng(0))
    np.testing.assert_array_equal(none, images)


def test_an_image_without_solid_ink_is_left_as_it_is() -> None:
    faint = np.full((2, 28, 28), 0.1, dtype=np.float32)
    out = add_conventions(faint, np.array([0, 1]), dict.fromkeys(CONVENTIONS, 1.0), np.random.default_rng(0))
    np.testing.assert_array_equal(out, faint)


def test_a_convention_digit_is_fitted_and_centred_like_a_drawing() -> None:
    sevens = digits_of(7, 8)
    crossed = add_conventions(sevens, np.full(len(sevens), 7), {7: 1.0}, np.random.default_rng(3))
    for image in crossed:
        mass = image / image.sum()
        assert abs(mass.sum(axis=1) @ np.arange(28) - 14.0) < 0.6
        assert abs(mass.sum(axis=0) @ np.arange(28) - 14.0) < 0.6
        assert image.max() == 1.0


def test_each_convention_keeps_the_upsampled_shape() -> None:
    big = np.zeros((112, 112), dtype=np.float32)
    big = draw_segment(big, (20.0, 56.0), (92.0, 56.0), width=9.0)
    rng = np.random.default_rng(1)
    for draw in (slash_zero, flag_one, cross_seven):
        out = draw(big, rng)
        assert out.shape == big.shape
        assert out.sum() > big.sum()
