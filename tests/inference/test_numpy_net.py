"""The from-scratch network: analytic gradients, the optimiser and the weight file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.numpy_net import NumpyNet
from training.numpy_trainer import Adam

SIZES = (12, 7, 5, 3)


def small_float64_net(seed: int = 0) -> NumpyNet:
    """A small net in float64, so finite differences are exact enough to compare against."""
    net = NumpyNet.initialise(SIZES, seed)
    rng = np.random.default_rng(seed + 1)
    # Non-zero biases so that every bias gradient is exercised through the ReLUs.
    return NumpyNet(
        {key: (value + 0.1 * rng.standard_normal(value.shape)).astype(np.float64) for key, value in net.params.items()}
    )


def batch(seed: int = 2, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((size, SIZES[0])), rng.integers(0, SIZES[-1], size)


def loss_of(net: NumpyNet, x: np.ndarray, labels: np.ndarray) -> float:
    probabilities, _ = net.forward(x)
    return net.loss(probabilities, labels)


def test_backward_matches_numerical_gradients() -> None:
    net = small_float64_net()
    x, labels = batch()
    _, cache = net.forward(x)
    grads = net.backward(cache, labels)
    step = 1e-6
    for key, param in net.params.items():
        numerical = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            original = param[index]
            param[index] = original + step
            plus = loss_of(net, x, labels)
            param[index] = original - step
            minus = loss_of(net, x, labels)
            param[index] = original
            numerical[index] = (plus - minus) / (2 * step)
        assert grads[key].shape == param.shape
        np.testing.assert_allclose(grads[key], numerical, rtol=1e-4, atol=1e-7, err_msg=key)


def test_adam_steps_reduce_the_loss_on_a_tiny_batch() -> None:
    net = NumpyNet.initialise(SIZES, seed=3)
    x, labels = batch(size=16)
    x = x.astype(np.float32)
    optimiser = Adam(learning_rate=1e-2)
    before = loss_of(net, x, labels)
    _, cache = net.forward(x)
    optimiser.update(net.params, net.backward(cache, labels))
    after_one = loss_of(net, x, labels)
    for _ in range(50):
        _, cache = net.forward(x)
        optimiser.update(net.params, net.backward(cache, labels))
    after_many = loss_of(net, x, labels)
    assert after_one < before
    assert after_many < before / 4
    assert all(value.dtype == np.float32 for value in net.params.values())


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    net = NumpyNet.initialise((784, 16, 10), seed=4)
    path = tmp_path / "weights.npz"
    net.save(path)
    loaded = NumpyNet.load(path)
    assert loaded.sizes == (784, 16, 10)
    assert loaded.parameter_count == net.parameter_count
    for key, value in net.params.items():
        np.testing.assert_array_equal(loaded.params[key], value)
    images = np.random.default_rng(5).random((4, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(images), net.predict(images))


def test_predict_returns_probability_rows() -> None:
    net = NumpyNet.initialise((784, 16, 10), seed=6)
    probabilities = net.predict(np.random.default_rng(7).random((5, 28, 28), dtype=np.float32))
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert probabilities.min() >= 0.0


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_is_stable_for_large_logits(scale: float) -> None:
    from inference.numpy_net import softmax

    probabilities = softmax(np.array([[1.0, 2.0, 3.0]]) * scale)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(), 1.0)
