"""Temperature scaling: it lowers ECE where confidence is miscalibrated and never changes an answer."""

from __future__ import annotations

import numpy as np
import pytest

from inference import registry
from inference.models import NumpyDigitModel, card_temperature
from inference.numpy_net import NumpyNet
from tests.factories import mnist
from training.calibration import (
    HOLDOUT_WRITERS,
    confidence_bins,
    expected_calibration_error,
    finetune_holdout_mask,
    fit_temperature,
    reliability_svg,
    softmax,
)


def overconfident_fixture(count: int = 4000, sharpening: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose softmax is calibrated by construction (labels drawn from it), then multiplied by
    `sharpening`: an overconfident model whose right temperature is `sharpening`."""
    rng = np.random.default_rng(0)
    calibrated = rng.normal(0.0, 2.0, size=(count, 10))
    probabilities = softmax(calibrated)
    labels = np.array([rng.choice(10, p=p) for p in probabilities])
    return calibrated * sharpening, labels


def test_temperature_fitting_lowers_ece_on_an_overconfident_fixture() -> None:
    logits, labels = overconfident_fixture()
    temperature = fit_temperature(logits, labels)
    before = expected_calibration_error(softmax(logits), labels)
    after = expected_calibration_error(softmax(logits, temperature), labels)
    assert temperature == pytest.approx(3.0, rel=0.1)
    assert before > 0.1 and after < 0.03


def test_ece_of_a_perfectly_calibrated_fixture_is_small_and_of_a_confident_wrong_one_large() -> None:
    logits, labels = overconfident_fixture(sharpening=1.0)
    assert expected_calibration_error(softmax(logits), labels) < 0.03
    certain_and_wrong = np.eye(10)[(labels + 1) % 10]
    assert expected_calibration_error(certain_and_wrong, labels) == pytest.approx(1.0)


@pytest.mark.parametrize("temperature", [0.2, 0.9, 1.0, 1.7, 12.0])
def test_calibration_never_changes_an_argmax(temperature: float) -> None:
    logits, _ = overconfident_fixture(count=2000)
    assert np.array_equal(softmax(logits).argmax(axis=1), softmax(logits, temperature).argmax(axis=1))


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_served_models_apply_their_card_temperature_without_changing_an_answer(name: str) -> None:
    model = registry.get_model(name)
    images = mnist().x_test[:300]
    logits = model.logits(images)
    assert model.temperature == card_temperature(model.card)
    assert np.allclose(model.predict(images), softmax(logits, model.temperature), atol=1e-5)
    assert np.array_equal(model.predict(images).argmax(axis=1), logits.argmax(axis=1))


def test_a_card_without_calibration_means_temperature_one() -> None:
    net = NumpyNet.initialise((784, 8, 10), seed=0)
    images = mnist().x_test[:20]
    plain = NumpyDigitModel("numpy", 99, {}, net)
    warm = NumpyDigitModel("numpy", 99, {"calibration": {"temperature": 2.0}}, net)
    assert plain.temperature == 1.0 and card_temperature({"calibration": {"temperature": -3}}) == 1.0
    assert np.allclose(plain.predict(images), net.predict(images), atol=1e-6)
    assert np.allclose(warm.predict(images), softmax(net.logits(images), 2.0), atol=1e-6)


def test_finetune_holdout_selects_the_eight_held_out_writers() -> None:
    records = [{"institution": "gmd", "writer": "kast"}, {"institution": "gmd", "writer": "alek"}]
    records += [{"institution": key.split("/")[0], "writer": key.split("/")[1]} for key in HOLDOUT_WRITERS]
    assert finetune_holdout_mask(records).tolist() == [True, False, *[True] * 8]


def test_reliability_diagram_is_an_svg_with_one_point_per_filled_bin() -> None:
    bins = confidence_bins(np.array([0.95, 0.97, 0.55]), np.array([True, True, False]))
    svg = reliability_svg({"after": bins}, "cnn <v4>")
    assert svg.startswith("<svg") and svg.count("<circle") == 2 and "cnn &lt;v4&gt;" in svg
