""" "Not a digit" decided by the models together: the mean of their margins, the chosen model's digit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from inference.answer import NOT_A_DIGIT, not_a_digit_margins, read_answer
from inference.committee import CommitteeModel, with_margins


class FixedRows:
    """A model that answers the same rows for any batch of their length (the committee's arithmetic,
    apart from what any real model says)."""

    def __init__(self, name: str, version: int, rows: list[list[float]]) -> None:
        self.name, self.version, self.card, self.temperature = name, version, {}, 1.0
        self.rows = np.asarray(rows, dtype=np.float32)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.rows[: len(batch)] / self.rows[: len(batch)].sum(axis=1, keepdims=True)

    def logits(self, batch: np.ndarray) -> Any:
        return np.log(self.predict(batch))

    def input_gradients(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return np.ones_like(batch)


def row(best: int, best_p: float, rejection: float) -> list[float]:
    """Eleven probabilities: `best` at `best_p`, "not a digit" at `rejection`, the rest shared."""
    rest = (1 - best_p - rejection) / 9
    values = [rest] * 11
    values[best], values[NOT_A_DIGIT] = best_p, rejection
    return values


BATCH = np.zeros((2, 28, 28), np.float32)


@pytest.mark.parametrize("margin", [-3.0, -0.2, 0.2, 3.0])
def test_rows_with_a_given_margin_keep_the_digits_proportions_and_reject_exactly_above_zero(margin):
    probabilities = np.asarray([row(7, 0.6, 0.3)], np.float32)

    rows = with_margins(probabilities, np.array([margin]))

    assert rows.sum() == pytest.approx(1, abs=1e-6)
    assert not_a_digit_margins(rows)[0] == pytest.approx(margin, abs=1e-4)
    digits = rows[0, :NOT_A_DIGIT] / rows[0, :NOT_A_DIGIT].sum()
    assert digits == pytest.approx(probabilities[0, :NOT_A_DIGIT] / probabilities[0, :NOT_A_DIGIT].sum(), abs=1e-6)
    assert read_answer(rows[0]).not_a_digit is (margin > 0)


def test_the_mean_margin_decides_and_the_chosen_model_says_which_digit():
    chosen = FixedRows("cnn", 7, [row(4, 0.5, 0.45), row(2, 0.2, 0.7)])  # a 4; a 2 or not a digit
    dense = FixedRows("dense", 7, [row(9, 0.9, 0.05), row(3, 0.7, 0.2)])
    numpy = FixedRows("numpy", 6, [row(4, 0.8, 0.1), row(2, 0.1, 0.85)])
    committee = CommitteeModel(chosen, [dense, numpy])

    rows = committee.predict(BATCH)

    expected = np.mean([not_a_digit_margins(m.predict(BATCH)) for m in (chosen, dense, numpy)], axis=0)
    assert not_a_digit_margins(rows) == pytest.approx(expected, abs=1e-4)
    answers = [read_answer(r) for r in rows]
    assert (answers[0].digit, answers[0].not_a_digit) == (4, False)  # dense's 9 is not the answer
    assert (answers[1].digit, answers[1].not_a_digit) == (None, True)
    assert list(committee.voter_versions.items()) == [("cnn", 7), ("dense", 7), ("numpy", 6)]
    assert (committee.name, committee.version) == ("cnn", 7)


def test_a_letter_one_model_lets_through_is_rejected_when_the_others_are_sure():
    letter = [row(0, 0.55, 0.44)]  # the chosen model alone: a 0
    committee = CommitteeModel(
        FixedRows("dense", 7, letter), [FixedRows("cnn", 7, [row(0, 0.1, 0.89)]), FixedRows("numpy", 6, letter)]
    )

    assert read_answer(committee.predict(BATCH[:1])[0]).not_a_digit
    assert list(committee.voter_versions) == ["cnn", "dense", "numpy"]  # by name, whichever was chosen


def test_ten_class_members_have_no_say_and_alone_the_chosen_model_decides():
    chosen = FixedRows("cnn", 7, [row(1, 0.4, 0.5)])
    ten_class = FixedRows("dense", 4, [[0.1] * 10])

    committee = CommitteeModel(chosen, [ten_class])

    assert committee.voter_versions == {}
    assert committee.predict(BATCH[:1]) == pytest.approx(chosen.predict(BATCH[:1]))


def test_a_ten_class_chosen_model_never_says_not_a_digit():
    chosen = FixedRows("numpy", 4, [[0.1] * 10])
    committee = CommitteeModel(
        chosen, [FixedRows("cnn", 7, [row(1, 0.1, 0.9)]), FixedRows("dense", 7, [row(1, 0.1, 0.9)])]
    )

    assert committee.voter_versions == {}
    assert committee.predict(BATCH[:1]).shape == (1, 10)


def test_a_certain_model_gives_a_finite_answer():
    sure_letter = FixedRows("cnn", 7, [[0.0] * 10 + [1.0]])
    sure_digit = FixedRows("dense", 7, [[1.0] + [0.0] * 10])

    rows = CommitteeModel(sure_letter, [sure_digit]).predict(BATCH[:1])

    assert np.isfinite(rows).all() and rows.sum() == pytest.approx(1, abs=1e-6)
