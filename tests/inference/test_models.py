"""The trained models in the registry: accuracy floors, the predict contract, lazy cached loading."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from inference import registry
from inference.models import KerasDigitModel
from tests.factories import mnist

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = 200
FLOORS = {"cnn": 0.98, "dense": 0.97, "numpy": 0.96}


def mnist_test_sample() -> tuple[np.ndarray, np.ndarray]:
    """A fixed random sample of MNIST test images and labels."""
    data = mnist()
    index = np.random.default_rng(0).choice(len(data.x_test), SAMPLE, replace=False)
    return data.x_test[index], data.y_test[index]


def run_python(code: str) -> str:
    """Run code in a fresh interpreter at the repository root; return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_model_classifies_mnist_test_sample_above_its_floor(name: str) -> None:
    images, labels = mnist_test_sample()
    predicted = registry.get_model(name).predict(images).argmax(axis=1)
    correct = float(np.mean(predicted == labels))
    assert correct >= FLOORS[name], f"{name}: {correct:.3f} of {SAMPLE} MNIST test images, floor {FLOORS[name]}"


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_predict_returns_one_probability_row_per_image(name: str) -> None:
    images, _ = mnist_test_sample()
    for batch in (images[:1], images[:37]):
        probabilities = registry.get_model(name).predict(batch)
        assert probabilities.shape == (len(batch), 11)  # the served versions answer "not a digit" too
        assert probabilities.min() >= 0.0
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)


@pytest.mark.parametrize("name", ["cnn", "dense"])
def test_served_keras_model_answers_as_its_tensorflow_graph(name: str) -> None:
    model = registry.get_model(name)
    assert isinstance(model, KerasDigitModel) and model._compiled is not None  # served by TFLite
    images, _ = mnist_test_sample()
    for batch in (images[:5], images[:1], images[:37], images[:5]):  # the interpreter resizes between sizes
        graph = model._concrete(batch.astype(np.float32)).numpy()
        np.testing.assert_allclose(model.predict(batch), graph, atol=1e-5)


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_model_has_a_card_matching_its_artifact(name: str) -> None:
    model = registry.get_model(name)
    assert model.name == name
    assert model.version == registry.latest_version(name)
    assert model.card == registry.read_card(name, model.version)


def test_get_model_is_cached_per_process() -> None:
    first = registry.get_model("numpy")
    assert registry.get_model("numpy") is first
    assert registry.get_model("numpy", first.version) is first
    assert ("numpy", first.version) in registry.loaded_models()


def test_importing_the_registry_loads_no_model_and_no_tensorflow() -> None:
    out = run_python(
        """
        import sys
        from inference import registry
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        assert registry.loaded_models() == []
        registry.get_model("numpy")
        assert "tensorflow" not in sys.modules, "the numpy model must not need TensorFlow"
        print(registry.loaded_models())
        """
    )
    assert "numpy" in out


def test_forked_child_loads_its_own_copy() -> None:
    out = run_python(
        """
        import os
        from inference import registry
        parent = registry.get_model("numpy")
        pid = os.fork()
        if pid == 0:
            ok = registry.loaded_models() == [] and registry.get_model("numpy") is not parent
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
        """
    )
    assert "child exit 0" in out
