"""Loaded digit models: one `predict(batch) -> probabilities` interface over Keras and NumPy."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference.numpy_net import NumpyNet

KERAS_FILE = "model.keras"
NUMPY_FILE = "weights.npz"


class DigitModel(Protocol):
    """A model ready to classify 28x28 digits."""

    name: str
    version: int
    card: dict[str, Any]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 images in [0, 1] to (N, 10) probabilities."""
        ...


class NumpyDigitModel:
    """The from-scratch network: plain NumPy matrix products."""

    def __init__(self, name: str, version: int, card: dict[str, Any], net: NumpyNet) -> None:
        self.name, self.version, self.card, self.net = name, version, card, net

    @classmethod
    def load(cls, name: str, version: int, card: dict[str, Any], directory: Path) -> NumpyDigitModel:
        return cls(name, version, card, NumpyNet.load(directory / NUMPY_FILE))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.net.predict(batch)


def _configure_tensorflow() -> None:
    """Limit TensorFlow's thread pools (`INFERENCE_THREADS`) before its first operation."""
    import tensorflow as tf

    threads = int(os.environ.get("INFERENCE_THREADS", "0"))
    if threads > 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # TensorFlow is already initialised in this process; keep its pools.


class KerasDigitModel:
    """A Keras model called through a compiled `tf.function`, not `model.predict()` per image."""

    def __init__(self, name: str, version: int, card: dict[str, Any], keras_model: Any) -> None:
        import tensorflow as tf

        self.name, self.version, self.card = name, version, card
        self.keras_model = keras_model
        self._call = tf.function(
            lambda x: keras_model(x, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)],
        )
        self.predict(np.zeros((1, 28, 28), dtype=np.float32))  # trace once, at load time

    @classmethod
    def load(cls, name: str, version: int, card: dict[str, Any], directory: Path) -> KerasDigitModel:
        _configure_tensorflow()
        import keras

        return cls(name, version, card, keras.saving.load_model(directory / KERAS_FILE, compile=False))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self._call(np.asarray(batch, dtype=np.float32)).numpy()


Loader = Callable[[str, int, dict[str, Any], Path], DigitModel]
LOADERS: dict[str, Loader] = {"numpy": NumpyDigitModel.load, "tensorflow": KerasDigitModel.load}
