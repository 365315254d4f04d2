"""What a model's probabilities say: a digit and how sure, or "that is not a digit".

Models trained with negatives have an 11th output, `NOT_A_DIGIT`; older versions have ten and never
reject a drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIGIT_CLASSES = 10
# The index of the 11th class, and the label that marks a drawing as not a digit in training data.
NOT_A_DIGIT = 10


@dataclass(frozen=True)
class Answer:
    """One drawing's answer: `digit` is None when the model says it is not a digit."""

    digit: int | None
    confidence: float
    not_a_digit: bool
    # The ten digits' probabilities; with an 11th class they sum to 1 - `not_a_digit_probability`.
    probabilities: list[float]
    not_a_digit_probability: float


def read_answer(probabilities: np.ndarray) -> Answer:
    """The answer a row of 10 or 11 probabilities gives: the most probable class."""
    row = np.asarray(probabilities, dtype=np.float64)
    best = int(row.argmax())
    rejection = float(row[NOT_A_DIGIT]) if len(row) > DIGIT_CLASSES else 0.0
    rejected = best == NOT_A_DIGIT
    return Answer(
        digit=None if rejected else best,
        confidence=round(float(row[best]), 6),
        not_a_digit=rejected,
        probabilities=[round(float(p), 6) for p in row[:DIGIT_CLASSES]],
        not_a_digit_probability=round(rejection, 6),
    )


def not_a_digit_margins(probabilities: np.ndarray) -> np.ndarray:
    """Per row of 11 probabilities, how far "not a digit" is above the best digit, in log-probability: a
    row is rejected when its margin is above 0 (and would be if the class's logit rose by -margin)."""
    with np.errstate(divide="ignore"):
        logs = np.log(np.asarray(probabilities, dtype=np.float64))
    return logs[:, NOT_A_DIGIT] - logs[:, :NOT_A_DIGIT].max(axis=1)
