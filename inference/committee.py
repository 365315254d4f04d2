""" "Not a digit" decided by the served models together: the chosen model says which digit, and the mean
of every member's "not a digit" margin says whether it is one.

Each 11-class version's margin is already calibrated on its own (fine-tuning lowers its "not a digit"
bias until at most 0.5 % of the held-out writers' digits are rejected); their mean, above 0, is the
committee's rule. Averaging three models' margins rejects letters that one model alone lets through and
keeps digits that one model alone would reject (docs/models.md, "Not a digit"). Ten-class members say nothing,
and with fewer than two members that can say it, the chosen model's own class decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference import registry
from inference.answer import DIGIT_CLASSES, NOT_A_DIGIT, not_a_digit_margins
from inference.models import DigitModel

# The least probability a margin is taken of: a float32 softmax can round a class to 0 (an infinite margin).
TINY = 1e-30


def with_margins(probabilities: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Rows of 11 probabilities with the ten digits' proportions kept and "not a digit" set so that its
    log-probability lies `margins` above the best digit's: a row is rejected exactly when its margin is
    above 0."""
    digits = np.clip(np.asarray(probabilities, dtype=np.float64)[:, :DIGIT_CLASSES], TINY, None)
    digits = digits / digits.sum(axis=1, keepdims=True)
    odds = digits.max(axis=1) * np.exp(np.clip(margins, -50.0, 50.0))
    rejection = odds / (1.0 + odds)
    return np.column_stack([digits * (1.0 - rejection)[:, None], rejection]).astype(np.float32)


def _finite_margins(probabilities: np.ndarray) -> np.ndarray:
    return not_a_digit_margins(np.clip(probabilities, TINY, None))


# Whether a version has the 11th class, by (name, version): asked once, as a version never changes.
_SAYS_NOT_A_DIGIT: dict[tuple[str, int], bool] = {}


def _says_not_a_digit(model: DigitModel) -> bool:
    key = (model.name, model.version)
    if key not in _SAYS_NOT_A_DIGIT:
        _SAYS_NOT_A_DIGIT[key] = bool(model.predict(np.zeros((1, 28, 28), np.float32)).shape[1] > NOT_A_DIGIT)
    return _SAYS_NOT_A_DIGIT[key]


class CommitteeModel:
    """The chosen model, whose answers' "not a digit" is the committee's (its members' mean margin).

    Explanations (logits, gradients) are the chosen model's own."""

    def __init__(self, chosen: DigitModel, members: Sequence[DigitModel]) -> None:
        self.chosen = chosen
        others = [member for member in members if member.name != chosen.name and _says_not_a_digit(member)]
        # Without a class of its own, or with nobody to vote with, the chosen model decides alone.
        self.voters = [chosen, *others] if others and _says_not_a_digit(chosen) else []
        self.name, self.version = chosen.name, chosen.version
        self.card, self.temperature = chosen.card, chosen.temperature

    @property
    def voter_versions(self) -> dict[str, int]:
        """The versions whose mean margin decides "not a digit", by model name in order; empty when the
        chosen model decides alone."""
        return {model.name: model.version for model in sorted(self.voters, key=lambda model: model.name)}

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.predict_with_members(batch)[0]

    def predict_with_members(self, batch: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The answers, and the rows every member gave on its own (the chosen model's first): what
        `inference.review_order.label_values` reads, at no extra cost."""
        rows = self.chosen.predict(batch)
        if not self.voters:
            return rows, [rows]
        members = [rows, *(model.predict(batch) for model in self.voters[1:])]
        margins = [_finite_margins(member) for member in members]
        return with_margins(rows, np.mean(margins, axis=0)), members

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.chosen.logits(batch)

    def input_gradients(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return self.chosen.input_gradients(batch, classes)


def newest_committee(name: str, version: int | None = None) -> CommitteeModel:
    """`name` v`version` (default its newest) judged with the newest version on disk of every other
    model: what a fresh install serves, for the evaluations (the site uses the active versions)."""
    chosen = registry.get_model(name, version)
    return CommitteeModel(chosen, [registry.get_model(other) for other in registry.MODEL_NAMES if other != name])
