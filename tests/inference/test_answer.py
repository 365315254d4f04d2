"""Reading an answer from a model's probabilities: a digit, or "not a digit" from an 11th class."""

from __future__ import annotations

import numpy as np
import pytest

from inference.answer import NOT_A_DIGIT, not_a_digit_margins, read_answer


def test_ten_classes_always_answer_a_digit():
    row = np.array([0.01, 0.02, 0.9, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01])

    answer = read_answer(row)

    assert (answer.digit, answer.not_a_digit, answer.not_a_digit_probability) == (2, False, 0.0)
    assert answer.confidence == pytest.approx(0.9)
    assert len(answer.probabilities) == 10


def test_the_eleventh_class_winning_means_not_a_digit_with_no_digit():
    row = np.full(11, 0.02)
    row[NOT_A_DIGIT] = 0.8

    answer = read_answer(row)

    assert (answer.digit, answer.not_a_digit) == (None, True)
    assert answer.confidence == pytest.approx(0.8) == answer.not_a_digit_probability
    assert len(answer.probabilities) == 10  # the digits' share only, summing to 1 - 0.8
    assert sum(answer.probabilities) == pytest.approx(0.2)


def test_a_digit_beside_an_eleventh_class_keeps_its_own_probability():
    row = np.full(11, 0.01)
    row[7], row[NOT_A_DIGIT] = 0.6, 0.31

    answer = read_answer(row)

    assert (answer.digit, answer.not_a_digit) == (7, False)
    assert answer.confidence == pytest.approx(0.6)
    assert answer.not_a_digit_probability == pytest.approx(0.31)


def test_not_a_digit_margin_is_above_zero_exactly_where_the_answer_rejects() -> None:
    rows = np.random.default_rng(0).dirichlet(np.ones(11) * 0.3, size=500)
    margins = not_a_digit_margins(rows)
    assert margins.shape == (500,)
    assert [bool(m > 0) for m in margins] == [read_answer(row).not_a_digit for row in rows]
    np.testing.assert_allclose(margins, np.log(rows[:, NOT_A_DIGIT] / rows[:, :NOT_A_DIGIT].max(axis=1)))
