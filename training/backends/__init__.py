"""One small backend per framework, so that training and fine-tuning never branch on it.

A backend holds one model of its framework and does what a training loop needs: predict, train one
epoch, set the learning rate and save the artifact. `build` makes a new model by architecture name,
`load` reads an artifact; both pick the backend by the framework a recipe or a model card names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Self, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Decay:
    """A learning rate falling exponentially from `initial` to `final` over a whole training run.

    Each backend applies it the way its models have always been trained: Keras after every batch
    (reaching `final` after the last one), the NumPy network once per epoch (`final` in the last epoch).
    """

    initial: float
    final: float
    epochs: int
    batches_per_epoch: int

    def per_epoch(self, epoch: int) -> float:
        """The rate of epoch `epoch` (counted from 0) when it changes once per epoch."""
        factor = (self.final / self.initial) ** (1 / max(1, self.epochs - 1))
        return self.initial * factor**epoch


@runtime_checkable
class Backend(Protocol):
    """One framework's digit model, trained one epoch at a time."""

    framework: str

    @classmethod
    def build(cls, name: str, *, seed: int, classes: int = 10) -> Self:
        """A new model of architecture `name` (`cnn`, `dense`, `numpy`) with `classes` outputs (11 with
        "not a digit"), initialised from `seed`."""
        ...

    @classmethod
    def load(cls, directory: Path, *, seed: int) -> Self:
        """The model saved in `directory`; `seed` seeds the framework's own random draws in training."""
        ...

    @property
    def architecture(self) -> list[str]:
        """One line per layer, for the model card."""
        ...

    @property
    def classes(self) -> int:
        """How many outputs: 10 digits, or 11 with "not a digit"."""
        ...

    @property
    def parameter_count(self) -> int: ...

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) images in [0, 1] to (N, classes) probabilities."""
        ...

    def widen(self, classes: int) -> None:
        """Give the model `classes` outputs, keeping every weight it has: a new class starts with zero
        weights and bias, so the answers among the old classes do not change until it is trained."""
        ...

    def bias_add(self, output: int, delta: float) -> None:
        """Add `delta` to the bias of output `output` (its logit): a negative one makes the class rarer."""
        ...

    def set_learning_rate(self, rate: float | Decay) -> None:
        """Train the next epochs at `rate`, or from the next epoch on along `rate`'s decay."""
        ...

    def epoch(
        self, images: np.ndarray, labels: np.ndarray, *, batch_size: int, rng: np.random.Generator, progress: bool
    ) -> float:
        """One pass over (already augmented) images in a random order; returns the mean training loss."""
        ...

    def save(self, directory: Path) -> None:
        """Write the weights into `directory` the way `inference.models` loads them."""
        ...


def backend_class(framework: str) -> type[Backend]:
    """The backend of `framework` ("tensorflow" or "numpy", as recipes and cards name it).

    Imported on demand, so that training the NumPy network never loads TensorFlow.
    """
    if framework == "numpy":
        from training.backends.numpy_backend import NumpyBackend

        return NumpyBackend
    if framework == "tensorflow":
        from training.backends.keras_backend import KerasBackend

        return KerasBackend
    raise ValueError(f"Unknown framework {framework!r}.")
