"""Finding the digits of a drawn number: parts of one digit stay together, touching digits are split."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from inference.numbers import read_digits
from inference.preprocess import ink_from_image, preprocess_pixels
from inference.registry import get_model
from inference.segment import MAX_PARTS, TooManyParts, segment_digits
from inference.strokes import draw_strokes

Strokes = list[list[tuple[float, float]]]
SIZE = (1000, 400)


def ink(strokes: Strokes, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The ink of strokes drawn as the page draws them (25 px round-capped black lines)."""
    return ink_from_image(draw_strokes(strokes, size=size))


def ring(cx: float, cy: float, rx: float, ry: float) -> list[tuple[float, float]]:
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 60)]


def five(x: float) -> Strokes:
    """A 5 whose top bar is drawn apart and does not touch the body."""
    body = [(x + 20, 100), (x + 15, 190), *ring(x + 70, 250, 70, 65)[40:], *ring(x + 70, 250, 70, 65)[:25]]
    bar = [(x + 45, 95), (x + 140, 90)]
    return [body, bar]


def four(x: float) -> Strokes:
    """A 4 in two strokes: the open angle, then the upright through its bar."""
    return [[(x + 70, 90), (x + 10, 230), (x + 175, 230)], [(x + 140, 110), (x + 140, 320)]]


def test_a_five_with_a_detached_bar_stays_one_digit() -> None:
    strokes = five(100)
    for parts in (segment_digits(ink(strokes)), segment_digits(ink(strokes), strokes)):
        assert len(parts) == 1


def test_a_four_in_two_strokes_stays_one_digit() -> None:
    strokes = four(100)
    assert len(segment_digits(ink(strokes), strokes)) == 1
    assert len(segment_digits(ink(strokes))) == 1


def test_digits_apart_are_found_left_to_right_with_boxes_in_image_pixels() -> None:
    strokes = [[(700, 100), (700, 300)], *five(100), *four(400)]
    parts = segment_digits(ink(strokes))
    assert [part.box[0] for part in parts] == sorted(part.box[0] for part in parts)
    assert len(parts) == 3
    x, y, w, h = parts[2].box
    assert abs(x - (700 - 12.5)) <= 2 and abs(y - (100 - 12.5)) <= 2 and abs(w - 25) <= 2 and abs(h - 225) <= 2


def test_each_digit_is_preprocessed_like_a_single_drawing() -> None:
    strokes = [*five(100), [(700, 100), (700, 300)]]
    alone = preprocess_pixels(ink(five(100)))
    first = segment_digits(ink(strokes))[0]
    assert first.pixels.shape == (28, 28)
    assert np.abs(first.pixels - alone).max() < 1e-6
    assert first.png.startswith(b"\x89PNG")


def test_two_touching_rings_are_split_with_and_without_strokes() -> None:
    strokes = [ring(300, 200, 80, 110), ring(470, 200, 80, 110)]  # the rings' lines meet at x = 385
    drawn = ink(strokes)
    for parts in (segment_digits(drawn), segment_digits(drawn, strokes)):
        assert len(parts) == 2
        (x0, _, w0, _), (x1, _, w1, _) = (part.box for part in parts)
        assert x0 + w0 <= x1 + 30 and w0 > 120 and w1 > 120


def test_touching_digits_drawn_one_after_the_other_are_split_by_their_strokes() -> None:
    one, seven = [(300, 100), (300, 300)], [(310, 110), (420, 110), (340, 300)]  # the 7's bar starts on the 1
    strokes = [one, seven]
    assert len(segment_digits(ink(strokes))) == 1  # one component, not wide: the image alone cannot tell
    assert len(segment_digits(ink(strokes), strokes)) == 2


def test_a_dot_apart_from_the_digits_is_not_a_digit() -> None:
    strokes = [[(200, 100), (200, 300)], [(260, 300)], [(400, 100), (400, 300)]]
    assert len(segment_digits(ink(strokes))) == 2


def test_a_drawing_without_ink_has_no_digits() -> None:
    assert segment_digits(np.zeros((400, 1000), dtype=np.float32)) == []


def test_more_than_twenty_separate_parts_are_refused_quickly() -> None:
    dots = [[(30.0 + 45 * i, 200.0)] for i in range(MAX_PARTS + 1)]
    drawn = ink(dots)
    started = time.perf_counter()
    with pytest.raises(TooManyParts) as raised:
        segment_digits(drawn, dots)
    assert time.perf_counter() - started < 0.1
    assert raised.value.code == "too_many_parts"
    assert len(segment_digits(ink(dots[:MAX_PARTS]))) == MAX_PARTS


def four_apart(x: float) -> Strokes:
    """A 4 whose upright stands right of its angle's bar, not touching it: two parts of ink."""
    return [[(x + 70, 120), (x + 10, 240), (x + 120, 240)], [(x + 165, 90), (x + 165, 330)]]


def test_a_four_whose_upright_stands_apart_is_read_as_one_digit() -> None:
    strokes = [*four_apart(100), [(500, 100), (650, 100), (560, 320)]]  # then a 7
    assert len(segment_digits(ink(strokes), strokes)) == 3  # apart: an angle, an upright, the 7
    parts, probabilities = read_digits(ink(strokes), get_model("cnn").predict, strokes)
    assert len(parts) == 2 and list(probabilities.argmax(axis=1)) == [4, 7]
    assert parts[0].box[0] < 100 + 10 and parts[0].box[0] + parts[0].box[2] > 100 + 165


def test_ones_side_by_side_stay_two_digits_when_read() -> None:
    strokes = [[(300, 100), (300, 320)], [(345, 100), (345, 320)], [(700, 100), (700, 320)]]
    parts, probabilities = read_digits(ink(strokes), get_model("cnn").predict, strokes)
    assert len(parts) == 3 and list(probabilities.argmax(axis=1)) == [1, 1, 1]


def test_with_strokes_touching_digits_too_narrow_for_the_outline_split_are_cut_between_strokes() -> None:
    # A 1 and a 7 whose bar starts on the 1: one part (its strokes too overlap), 0.8 times as wide as
    # tall, read "7" unsurely. (From the image alone: tests/inference/test_number_search.py.)
    strokes = [[(300, 100), (300, 320)], [(300, 110), (480, 100), (390, 320)]]
    assert len(segment_digits(ink(strokes), strokes)) == 1
    parts, probabilities = read_digits(ink(strokes), get_model("cnn").predict, strokes)
    assert len(parts) == 2 and list(probabilities.argmax(axis=1)) == [1, 7]
    assert parts[0].box[0] < 300 < parts[0].box[0] + parts[0].box[2] <= parts[1].box[0]


def test_with_strokes_a_cut_never_goes_through_a_stroke() -> None:
    # The same 1 and 7 drawn as one stroke: no cut between whole strokes exists.
    one_stroke = [[(300, 320), (300, 100), (480, 100), (390, 320)]]
    parts, _ = read_digits(ink(one_stroke), get_model("cnn").predict, one_stroke)
    assert len(parts) == 1


def test_a_wide_digit_read_surely_is_not_cut() -> None:
    strokes = [[*ring(400, 210, 150, 110)]]  # a wide 0
    parts, probabilities = read_digits(ink(strokes), get_model("cnn").predict)
    assert len(parts) == 1 and list(probabilities.argmax(axis=1)) == [0]
