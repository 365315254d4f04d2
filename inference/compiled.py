"""A Keras model's predict function compiled to TensorFlow Lite, for serving.

TensorFlow's `tf.function` costs about 0.3 ms of dispatch per call on top of the arithmetic, and more
after the process has slept; the TFLite interpreter (XNNPACK kernels) runs the same graph with almost
none (`python -m bench.inference`: cnn at batch 1). The probabilities match the graph's to float
rounding. Explanations (input gradients) still run in TensorFlow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _converter_notices_hidden() -> Iterator[None]:
    """The converter's C++ code writes its notices to file descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL
    says; with that setting at 1 or more they go to /dev/null. Its failures still raise."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0"):
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class CompiledPredict:
    """`predict(batch)` of a concrete `tf.function` from (N, 28, 28) float32 to (N, 10), run by one TFLite
    interpreter whose input is resized when the batch size changes (about 35 µs)."""

    def __init__(self, concrete_function: Any, threads: int | None) -> None:
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete_function])
        with _converter_notices_hidden():
            flatbuffer = converter.convert()
        with warnings.catch_warnings():  # tf.lite's interpreter warns that it moves to ai_edge_litert
            warnings.simplefilter("ignore")
            self._interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch_size = 0
        self._lock = threading.Lock()  # an interpreter runs one call at a time

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        with self._lock:
            if len(batch) != self._batch_size:
                self._interpreter.resize_tensor_input(self._input, list(batch.shape))
                self._interpreter.allocate_tensors()
                self._batch_size = len(batch)
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)


def compiled_or_none(concrete_function: Any, threads: int | None) -> CompiledPredict | None:
    """The function compiled to TFLite, or None (the caller keeps TensorFlow) when a graph has an
    operation the converter cannot take."""
    try:
        return CompiledPredict(concrete_function, threads)
    except Exception:  # the converter raises many types (ConverterError, ValueError ...)
        logger.warning("Could not compile the model to TFLite; serving it with TensorFlow", exc_info=True)
        return None
