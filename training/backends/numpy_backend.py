"""The from-scratch NumPy network as a training backend: Adam and the loop of `training.numpy_trainer`."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np

from inference.answer import DIGIT_CLASSES
from inference.models import NUMPY_FILE
from inference.numpy_net import NumpyNet
from training.backends import Decay
from training.numpy_trainer import Adam, numpy_epoch

# Hidden layer sizes by architecture name (the input is 784 pixels, the output one unit per class).
ARCHITECTURES = {"numpy": (512, 256)}


class NumpyBackend:
    """A `NumpyNet` with its Adam optimiser; every random draw in training comes from the epoch's `rng`."""

    framework = "numpy"

    def __init__(self, net: NumpyNet) -> None:
        self.net = net
        self.optimiser = Adam()
        self._learning_rate: float | Decay | None = None
        self._decay_epoch = 0

    @classmethod
    def build(cls, name: str, *, seed: int, classes: int = DIGIT_CLASSES) -> Self:
        return cls(NumpyNet.initialise((784, *ARCHITECTURES[name], classes), seed))

    @classmethod
    def load(cls, directory: Path, *, seed: int) -> Self:
        return cls(NumpyNet.load(directory / NUMPY_FILE))

    @property
    def architecture(self) -> list[str]:
        sizes = self.net.sizes
        return [f"Dense({n}, relu)" for n in sizes[1:-1]] + [f"Dense({sizes[-1]}, softmax)"]

    @property
    def classes(self) -> int:
        return int(self.net.sizes[-1])

    @property
    def parameter_count(self) -> int:
        return self.net.parameter_count

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.net.predict(images)

    def widen(self, classes: int) -> None:
        last = self.net.layer_count
        kernel, bias = self.net.params[f"W{last}"], self.net.params[f"b{last}"]
        added = classes - kernel.shape[1]
        self.net.params[f"W{last}"] = np.concatenate([kernel, np.zeros((kernel.shape[0], added), kernel.dtype)], axis=1)
        self.net.params[f"b{last}"] = np.concatenate([bias, np.zeros(added, bias.dtype)])
        self.optimiser = Adam()

    def bias_add(self, output: int, delta: float) -> None:
        self.net.params[f"b{self.net.layer_count}"][output] += np.float32(delta)

    def set_learning_rate(self, rate: float | Decay) -> None:
        self._learning_rate, self._decay_epoch = rate, 0

    def epoch(
        self, images: np.ndarray, labels: np.ndarray, *, batch_size: int, rng: np.random.Generator, progress: bool
    ) -> float:
        if self._learning_rate is None:
            raise RuntimeError("Set the learning rate before the first epoch.")
        if isinstance(self._learning_rate, Decay):
            self.optimiser.learning_rate = self._learning_rate.per_epoch(self._decay_epoch)
            self._decay_epoch += 1
        else:
            self.optimiser.learning_rate = self._learning_rate
        return numpy_epoch(self.net, self.optimiser, images, labels, batch_size=batch_size, rng=rng, progress=progress)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.net.save(directory / NUMPY_FILE)
