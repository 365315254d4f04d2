"""The whole-number benchmark: which samples it leaves out, and how it counts digits."""

from __future__ import annotations

import numpy as np
import pytest

from inference.answer import NOT_A_DIGIT
from training.evaluation.numbers import compose_number, edit_distance, read_numbers, two_glyphs

ZERO = [[0.5, 0.0], [0.0, 0.5], [0.5, 1.0], [1.0, 0.5], [0.5, 0.0]]
SEVEN = [[[0.0, 0.0], [0.6, 0.0], [0.35, 1.0]]]


def _shifted(stroke: list[list[float]], dx: float) -> list[list[float]]:
    return [[x + dx, y] for x, y in stroke]


def test_two_zeros_side_by_side_are_two_glyphs() -> None:
    assert two_glyphs([ZERO, _shifted(ZERO, 1.3)])


@pytest.mark.parametrize(
    "strokes",
    [
        [ZERO],
        # A 4 whose upright stands right of its angle, apart.
        [[[0.3, 0.0], [0.0, 0.6], [0.5, 0.6]], [[0.65, 0.1], [0.65, 1.0]]],
        # A 5 whose bar is drawn apart, up and right.
        [[[0.2, 0.1], [0.1, 0.5], [0.6, 0.6], [0.5, 1.0], [0.0, 0.9]], [[0.45, 0.0], [0.9, 0.0]]],
    ],
)
def test_one_digit_in_pieces_is_not_two_glyphs(strokes: list[list[list[float]]]) -> None:
    assert not two_glyphs(strokes)


class _Answers:
    """A model answering the given classes, one per part, left to right."""

    def __init__(self, classes: list[int]) -> None:
        self.classes = classes

    def predict(self, batch: np.ndarray) -> np.ndarray:
        rows = np.zeros((len(batch), NOT_A_DIGIT + 1), dtype=np.float32)
        rows[np.arange(len(batch)), self.classes[: len(batch)]] = 1.0
        return rows


@pytest.fixture(scope="module")
def seventy_seven():
    samples = [{"strokes": SEVEN, "label": 7}, {"strokes": SEVEN, "label": 7}]
    return [compose_number(samples, np.random.default_rng(3))]


def test_a_part_read_not_a_digit_is_one_wrong_digit(seventy_seven) -> None:
    read = read_numbers(seventy_seven, _Answers([NOT_A_DIGIT, 7]), with_strokes=True)
    assert read["whole"] == 0.0  # the worker answers "7"
    assert read["segmented"] == 1.0
    assert read["per_digit"] == read["per_digit_segmented"] == 0.5


def test_a_number_split_into_too_many_parts_costs_the_extra_digit() -> None:
    three_parts = compose_number([{"strokes": SEVEN, "label": 7}] * 3, np.random.default_rng(3))
    # A "77" whose worker found three parts.
    as_two = type(three_parts)("77", three_parts.png, three_parts.strokes, three_parts.singles[:2])
    read = read_numbers([as_two], _Answers([7, 7, 7]), with_strokes=False)
    assert (read["whole"], read["segmented"], read["per_digit"]) == (0.0, 0.0, 0.5)


@pytest.mark.parametrize(
    ("read", "truth", "distance"),
    [("2026", "2026", 0), ("226", "2026", 1), ("2926", "2026", 1), ("", "41", 2), ("7", "", 1)],
)
def test_edit_distance(read: str, truth: str, distance: int) -> None:
    assert edit_distance(read, truth) == distance


def test_a_number_read_right_counts_every_digit(seventy_seven) -> None:
    read = read_numbers(seventy_seven, _Answers([7, 7]), with_strokes=False)
    assert (read["whole"], read["per_digit"], read["segmented"]) == (1.0, 1.0, 1.0)
