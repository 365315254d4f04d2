"""Loaded digit models: one `predict(batch) -> probabilities` interface over Keras and NumPy.

`predict` is calibrated: it divides the logits by the version's temperature (`card["calibration"]
["temperature"]`, 1.0 when the card has none) before the softmax, which never changes the argmax.
`logits` are the raw, uncalibrated scores, and `input_gradients` what the saliency maps need.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference.compiled import compiled_or_none
from inference.numpy_net import NumpyNet, softmax

KERAS_FILE = "model.keras"
NUMPY_FILE = "weights.npz"


def card_temperature(card: dict[str, Any]) -> float:
    """The temperature a version's probabilities are calibrated with: from its card, else 1.0 (none)."""
    value = card.get("calibration", {}).get("temperature", 1.0)
    try:
        temperature = float(value)
    except (TypeError, ValueError):
        return 1.0
    return temperature if math.isfinite(temperature) and temperature > 0 else 1.0


class DigitModel(Protocol):
    """A model ready to classify 28x28 digits."""

    name: str
    version: int
    card: dict[str, Any]
    temperature: float

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 images in [0, 1] to (N, 10) calibrated probabilities."""
        ...

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) images to (N, 10) raw logits, before the temperature and the softmax."""
        ...

    def input_gradients(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Gradient of each image's raw log-probability of `classes[i]` with respect to its pixels."""
        ...


class NumpyDigitModel:
    """The from-scratch network: plain NumPy matrix products."""

    def __init__(self, name: str, version: int, card: dict[str, Any], net: NumpyNet) -> None:
        self.name, self.version, self.card, self.net = name, version, card, net
        self.temperature = card_temperature(card)

    @classmethod
    def load(cls, name: str, version: int, card: dict[str, Any], directory: Path) -> NumpyDigitModel:
        return cls(name, version, card, NumpyNet.load(directory / NUMPY_FILE))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self.net.logits(batch) / np.float32(self.temperature))

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.net.logits(batch)

    def input_gradients(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return self.net.input_gradients(batch, np.asarray(classes, dtype=np.int64))


def inference_threads() -> int:
    """`INFERENCE_THREADS`: threads per model call (0, the default, lets TensorFlow choose)."""
    return int(os.environ.get("INFERENCE_THREADS", "0"))


def _configure_tensorflow() -> None:
    """Limit TensorFlow's thread pools (`INFERENCE_THREADS`) before its first operation."""
    import tensorflow as tf

    threads = inference_threads()
    if threads > 0:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # TensorFlow is already initialised in this process; keep its pools.


def keras_logits(keras_model: Any) -> Callable[[Any], Any]:
    """A function from images to the model's logits. A model ending in a softmax Dense layer gives its
    pre-softmax output (exact even where float32 probabilities round to 0 or 1); any other model the
    log of its probabilities, which differ from logits by a constant per image (same softmax, argmax)."""
    import keras
    import tensorflow as tf

    last = keras_model.layers[-1]
    if isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
        body = keras_model.layers[:-1]

        def pre_softmax(x: Any) -> Any:
            for layer in body:
                x = layer(x, training=False)
            z = tf.matmul(x, last.kernel)
            return z + last.bias if last.use_bias else z

        return pre_softmax
    return lambda x: tf.math.log(tf.maximum(keras_model(x, training=False), 1e-30))


class KerasDigitModel:
    """A Keras model served by TFLite (`inference.compiled`), not `model.predict()` per image; its logits
    and gradients through `tf.function`s."""

    def __init__(self, name: str, version: int, card: dict[str, Any], keras_model: Any) -> None:
        import tensorflow as tf

        self.name, self.version, self.card = name, version, card
        self.temperature = card_temperature(card)
        self.keras_model = keras_model
        logits = keras_logits(keras_model)
        temperature = tf.constant(self.temperature, tf.float32)
        images = tf.TensorSpec([None, 28, 28], tf.float32)
        self._call = tf.function(lambda x: tf.nn.softmax(logits(x) / temperature), input_signature=[images])
        self._logits = tf.function(logits, input_signature=[images])

        def gradients(x: Any, classes: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                picked = tf.gather(tf.nn.log_softmax(logits(x)), classes, batch_dims=1)
            return tape.gradient(picked, x)

        # Traced on the first explanation: only processes that explain pay for it.
        self._gradients = tf.function(gradients, input_signature=[images, tf.TensorSpec([None], tf.int32)])
        # Traced once, at load time, and served by TFLite (`inference.compiled`); the concrete function
        # where the converter cannot take the graph.
        self._concrete = self._call.get_concrete_function()
        self._compiled = compiled_or_none(self._concrete, inference_threads() or None)

    @classmethod
    def load(cls, name: str, version: int, card: dict[str, Any], directory: Path) -> KerasDigitModel:
        _configure_tensorflow()
        import keras

        return cls(name, version, card, keras.saving.load_model(directory / KERAS_FILE, compile=False))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if self._compiled is not None:
            return self._compiled(batch)
        return self._concrete(np.asarray(batch, dtype=np.float32)).numpy()

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self._logits(np.asarray(batch, dtype=np.float32)).numpy()

    def input_gradients(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return self._gradients(np.asarray(batch, dtype=np.float32), np.asarray(classes, dtype=np.int32)).numpy()


Loader = Callable[[str, int, dict[str, Any], Path], DigitModel]
LOADERS: dict[str, Loader] = {"numpy": NumpyDigitModel.load, "tensorflow": KerasDigitModel.load}
