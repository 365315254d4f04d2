"""The Keras models (`cnn`, `dense`) as a training backend."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

import keras
import numpy as np

from inference.answer import DIGIT_CLASSES
from inference.models import KERAS_FILE
from training.architectures import BUILDERS, describe, save_for_serving
from training.backends import Decay

PREDICT_BATCH = 1000


class KerasBackend:
    """A Keras model trained with Adam on sparse categorical cross-entropy.

    Keras shuffles and draws dropout from its own generator, seeded by `build` and `load`; the `rng`
    of an epoch is not drawn from.
    """

    framework = "tensorflow"

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        # Compiled on the first `set_learning_rate`: a decay is part of the optimiser, a plain rate is a
        # variable that later calls assign.
        self._rate_is_variable: bool | None = None

    @classmethod
    def build(cls, name: str, *, seed: int, classes: int = DIGIT_CLASSES) -> Self:
        keras.utils.set_random_seed(seed)
        return cls(BUILDERS[name](classes))

    @classmethod
    def load(cls, directory: Path, *, seed: int) -> Self:
        keras.utils.set_random_seed(seed)
        return cls(keras.saving.load_model(directory / KERAS_FILE, compile=False))

    @property
    def architecture(self) -> list[str]:
        return describe(self.model)

    @property
    def classes(self) -> int:
        return int(self.model.output_shape[-1])

    @property
    def parameter_count(self) -> int:
        return int(self.model.count_params())

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model.predict(images, batch_size=PREDICT_BATCH, verbose=0)

    def widen(self, classes: int) -> None:
        config = self.model.get_config()
        config["layers"][-1]["config"]["units"] = classes
        wider = keras.Sequential.from_config(config)
        weights = self.model.get_weights()
        kernel, bias = weights[-2], weights[-1]
        added = classes - kernel.shape[1]
        kernel = np.concatenate([kernel, np.zeros((kernel.shape[0], added), kernel.dtype)], axis=1)
        bias = np.concatenate([bias, np.zeros(added, bias.dtype)])
        wider.set_weights([*weights[:-2], kernel, bias])
        self.model, self._rate_is_variable = wider, None

    def bias_add(self, output: int, delta: float) -> None:
        bias = self.model.layers[-1].bias
        bias.assign((bias.numpy() + delta * (np.arange(bias.shape[0]) == output)).astype(np.float32))

    def set_learning_rate(self, rate: float | Decay) -> None:
        if isinstance(rate, Decay):
            steps = rate.epochs * rate.batches_per_epoch
            self._compile(keras.optimizers.schedules.ExponentialDecay(rate.initial, steps, rate.final / rate.initial))
        elif self._rate_is_variable:
            self.model.optimizer.learning_rate.assign(rate)
        else:
            self._compile(rate)

    def _compile(self, learning_rate: float | keras.optimizers.schedules.LearningRateSchedule) -> None:
        self.model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        self._rate_is_variable = not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule)

    def epoch(
        self, images: np.ndarray, labels: np.ndarray, *, batch_size: int, rng: np.random.Generator, progress: bool
    ) -> float:
        if self._rate_is_variable is None:
            raise RuntimeError("Set the learning rate before the first epoch.")
        verbose = (2 if os.environ.get("CI") else 1) if progress else 0
        history = self.model.fit(images, labels, batch_size=batch_size, epochs=1, shuffle=True, verbose=verbose)
        return float(history.history["loss"][-1])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_for_serving(self.model, directory / KERAS_FILE)
