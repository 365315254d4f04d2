"""Saliency maps: deterministic, shaped like the drawing, faithful (deletion beats random), cheap."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference import registry
from inference.numpy_net import NumpyNet
from inference.saliency import delete_pixels, deletion_order, explain, integrated_gradients, steps_for
from tests.factories import mnist
from training.evaluation.explanations import deletion_metric


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_saliency_of_a_drawing_is_deterministic_and_lies_on_its_ink(name: str) -> None:
    model = registry.get_model(name)
    pixels = mnist().x_test[0]
    digit = int(model.predict(pixels[None])[0].argmax())
    first, png = explain(model, pixels, digit, steps_for(name))
    second, png_again = explain(model, pixels, digit, steps_for(name))
    assert np.array_equal(first, second) and png == png_again
    assert first.shape == (28, 28)
    assert np.all(first[pixels == 0] == 0)  # a black baseline: no ink, no attribution
    assert first[pixels > 0].sum() > 0  # the ink speaks for the answer overall
    image = Image.open(io.BytesIO(png))
    assert (image.size, image.mode) == ((28, 28), "RGBA")
    assert np.all(np.asarray(image)[..., 3][pixels == 0] == 0)  # transparent off the ink


def test_numpy_input_gradients_match_finite_differences() -> None:
    net = NumpyNet.initialise((784, 16, 10), seed=0)
    image = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    gradient = net.input_gradients(image, np.array([3]))[0]

    def log_probability(x: np.ndarray) -> float:
        logits = net.logits(x).astype(np.float64)[0]
        return float(logits[3] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())

    for position in [(5, 5), (14, 20), (27, 0)]:
        step = np.zeros_like(image)
        step[(0, *position)] = 1e-2
        numeric = (log_probability(image + step) - log_probability(image - step)) / 2e-2
        assert numeric == pytest.approx(float(gradient[position]), rel=2e-2, abs=1e-4)


def test_integrated_gradients_add_up_to_the_change_in_log_probability() -> None:
    model = registry.get_model("numpy")
    pixels = mnist().x_test[1]
    digit = int(model.predict(pixels[None])[0].argmax())
    attribution = integrated_gradients(model, pixels, digit, steps=256)

    def log_probability(x: np.ndarray) -> float:
        logits = model.logits(x[None]).astype(np.float64)[0]
        return float(logits[digit] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())

    expected = log_probability(pixels) - log_probability(np.zeros_like(pixels))
    assert float(attribution.sum()) == pytest.approx(expected, rel=0.05)


def test_deletion_removes_the_most_salient_ink_first() -> None:
    pixels = np.zeros((28, 28), np.float32)
    pixels[10, 10:14] = 1.0
    attribution = np.zeros((28, 28), np.float32)
    attribution[10, 12] = 5.0
    attribution[3, 3] = 9.0  # off the ink: never deleted
    order = deletion_order(attribution, pixels)
    assert order[0] == 10 * 28 + 12 and set(order) == {10 * 28 + c for c in range(10, 14)}
    assert delete_pixels(pixels, order[:1])[10, 12] == 0 and pixels[10, 12] == 1.0


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_deleting_salient_ink_beats_deleting_random_ink_on_a_fixed_set(name: str) -> None:
    images = mnist().x_test[:40]
    result = deletion_metric(registry.get_model(name), images, fraction=0.1)
    assert result.salient_drop > 2 * result.random_drop
    assert result.salient_changed >= result.random_changed
