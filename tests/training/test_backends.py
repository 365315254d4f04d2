"""The training backends: one interface over Keras and the NumPy network, seeded and reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.models import LOADERS
from tests.factories import mnist
from training.backends import Backend, Decay, backend_class
from training.train import RECIPES

IMAGES = 256
ARCHITECTURES = [(recipe.framework, name) for name, recipe in RECIPES.items()]


def tiny_set() -> tuple[np.ndarray, np.ndarray]:
    data = mnist()
    return data.x_train[:IMAGES], data.y_train[:IMAGES]


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None))))


def trained_one_epoch(framework: str, name: str, seed: int = 3) -> Backend:
    x, y = tiny_set()
    backend = backend_class(framework).build(name, seed=seed)
    backend.set_learning_rate(1e-3)
    backend.epoch(x, y, batch_size=32, rng=np.random.default_rng(seed), progress=False)
    return backend


@pytest.mark.parametrize(("framework", "name"), ARCHITECTURES)
def test_every_backend_satisfies_the_backend_protocol(framework: str, name: str) -> None:
    backend = backend_class(framework).build(name, seed=0)
    assert isinstance(backend, Backend)
    assert backend.framework == framework
    assert backend.parameter_count > 0 and backend.architecture
    probabilities = backend.predict(tiny_set()[0][:5])
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(("framework", "name"), ARCHITECTURES)
def test_one_epoch_lowers_the_loss_on_a_tiny_set(framework: str, name: str) -> None:
    x, y = tiny_set()
    before = cross_entropy(backend_class(framework).build(name, seed=3).predict(x), y)
    after = cross_entropy(trained_one_epoch(framework, name).predict(x), y)
    assert after < before


@pytest.mark.parametrize(("framework", "name"), ARCHITECTURES)
def test_the_same_seed_trains_the_same_weights(framework: str, name: str) -> None:
    x = tiny_set()[0]
    np.testing.assert_array_equal(
        trained_one_epoch(framework, name).predict(x), trained_one_epoch(framework, name).predict(x)
    )


@pytest.mark.parametrize(("framework", "name"), ARCHITECTURES)
def test_a_saved_backend_is_what_inference_and_load_read_back(framework: str, name: str, tmp_path: Path) -> None:
    x = tiny_set()[0][:64]
    backend = trained_one_epoch(framework, name)
    backend.save(tmp_path / name / "1")
    reloaded = backend_class(framework).load(tmp_path / name / "1", seed=0)
    served = LOADERS[framework](name, 1, {}, tmp_path / name / "1")
    np.testing.assert_array_equal(reloaded.predict(x), backend.predict(x))
    np.testing.assert_allclose(served.predict(x), backend.predict(x), atol=1e-5)


@pytest.mark.parametrize(("framework", "name"), ARCHITECTURES)
def test_an_epoch_before_any_learning_rate_is_refused(framework: str, name: str) -> None:
    x, y = tiny_set()
    with pytest.raises(RuntimeError, match="learning rate"):
        backend_class(framework).build(name, seed=0).epoch(
            x, y, batch_size=32, rng=np.random.default_rng(0), progress=False
        )


def test_a_per_epoch_decay_starts_at_the_initial_rate_and_ends_at_the_final_one() -> None:
    decay = Decay(initial=1e-3, final=1e-5, epochs=5, batches_per_epoch=10)
    rates = [decay.per_epoch(epoch) for epoch in range(5)]
    assert rates[0] == 1e-3
    assert rates[-1] == pytest.approx(1e-5)
    assert np.allclose(np.diff(np.log(rates)), np.log(1e-2) / 4)


def test_an_unknown_framework_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown framework"):
        backend_class("torch")


@pytest.mark.parametrize(("framework", "name"), ARCHITECTURES)
def test_widening_adds_a_class_and_keeps_the_old_answers(framework: str, name: str, tmp_path: Path) -> None:
    x, y = tiny_set()
    backend = trained_one_epoch(framework, name)
    before = backend.predict(x)

    backend.widen(11)

    after = backend.predict(x)
    assert backend.classes == 11 and after.shape == (len(x), 11)
    np.testing.assert_array_equal(after[:, :10].argmax(axis=1), before.argmax(axis=1))
    relabelled = np.where(y == 0, 10, y)  # and it learns the new class ...
    backend.set_learning_rate(1e-3)
    losses = [
        backend.epoch(x, relabelled, batch_size=32, rng=np.random.default_rng(epoch), progress=False)
        for epoch in range(3)
    ]
    assert losses[-1] < losses[0]
    backend.bias_add(10, 1000.0)  # ... its bias moves its logit alone ...
    assert (backend.predict(x).argmax(axis=1) == 10).all()
    backend.save(tmp_path)  # ... and it is saved
    assert backend_class(framework).load(tmp_path, seed=0).classes == 11
