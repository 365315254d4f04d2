"""Cutting a wide part read unsurely into the digits the model reads best, from the image alone."""

from __future__ import annotations

import numpy as np

from inference.number_search import search_part
from inference.numbers import read_digits
from inference.registry import get_model
from inference.segment import POOL, find_parts, segment_digits
from tests.inference.test_segment import Strokes, ink, ring

# A wide 0 whose right side touches a 1: one part of ink, which the model reads as no digit whole.
ZERO_TOUCHING_ONE: Strokes = [ring(300, 210, 95, 110), [(410, 100), (410, 320)]]


def test_a_zero_touching_a_one_is_read_as_both_from_the_image() -> None:
    assert len(segment_digits(ink(ZERO_TOUCHING_ONE))) == 1
    parts, probabilities = read_digits(ink(ZERO_TOUCHING_ONE), get_model("cnn").predict)
    assert list(probabilities.argmax(axis=1)) == [0, 1]
    assert parts[0].box[0] < 300 < parts[0].box[0] + parts[0].box[2] <= parts[1].box[0] + 1


def test_a_part_holding_one_digit_read_surely_stays_whole() -> None:
    drawn = ink([ring(400, 210, 150, 110)])  # a wide 0, cut into many atoms
    labels, parts = find_parts(drawn)
    height = segment_digits(drawn)[0].box[3] // POOL
    found = search_part(drawn, labels, parts[0], height, get_model("cnn").predict)
    assert [int(np.argmax(row)) for _, row in found] == [0]


def test_the_search_reads_each_digit_it_keeps_once_with_its_own_box() -> None:
    drawn = ink(ZERO_TOUCHING_ONE)
    labels, parts = find_parts(drawn)
    height = segment_digits(drawn)[0].box[3] // POOL
    found = search_part(drawn, labels, parts[0], height, get_model("cnn").predict)
    boxes = [digit.box for digit, _ in found]
    assert len(found) == 2 and all(row.shape == (11,) for _, row in found)
    assert boxes[0][0] + boxes[0][2] <= boxes[1][0] + POOL  # side by side, at most a cell shared
    assert all(digit.png.startswith(b"\x89PNG") for digit, _ in found)
