"""The side-by-side evaluation of the served models: best of three averages the committees' answers."""

from __future__ import annotations

import numpy as np

from inference import registry
from inference.answer import NOT_A_DIGIT
from tests.factories import mnist
from training.evaluation.served import ENSEMBLE, MeanOfCommittees, markdown, served_model


def test_best_of_three_is_the_mean_of_the_three_committees_and_reads_mnist_digits():
    model = served_model(ENSEMBLE, {})
    assert isinstance(model, MeanOfCommittees) and [m.name for m in model.members] == list(registry.MODEL_NAMES)
    batch, labels = mnist().x_test[:20], mnist().y_test[:20]
    rows = model.predict(batch)
    assert rows.shape == (20, NOT_A_DIGIT + 1)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(rows, np.mean([member.predict(batch) for member in model.members], axis=0), atol=1e-6)
    assert (np.argmax(rows, axis=1) == labels).sum() >= 19


def test_the_table_has_a_row_per_model_in_percent():
    figures = dict.fromkeys(["mnist_test", "letters_refused", "mnist_digits_refused", "unipen_digits_refused"], 0.5) | {
        f"unipen_{v}": 0.25 for v in ("standard", "small", "thin", "thick", "off-centre")
    }
    table = markdown({"cnn v8": figures})
    assert table.splitlines()[2].startswith("| cnn v8 | 50.00 | 25.00 |")
