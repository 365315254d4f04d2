"""The Keras architectures of the `dense` and `cnn` models."""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers

from inference.answer import DIGIT_CLASSES


def build_dense(classes: int = DIGIT_CLASSES) -> keras.Model:
    """784-512-512-`classes` fully connected network with dropout."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28), name="pixels"),
            layers.Flatten(),
            layers.Dense(512, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(512, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(classes, activation="softmax"),
        ],
        name="dense",
    )


def build_cnn(classes: int = DIGIT_CLASSES) -> keras.Model:
    """Two blocks of two 3x3 convolutions with batch norm, then a 128-unit dense head."""

    def block(filters: int) -> list[layers.Layer]:
        return [
            layers.Conv2D(filters, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Conv2D(filters, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Dropout(0.1),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28), name="pixels"),
            layers.Reshape((28, 28, 1)),
            *block(32),
            *block(64),
            layers.Flatten(),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(0.3),
            layers.Dense(classes, activation="softmax"),
        ],
        name="cnn",
    )


def save_for_serving(model: keras.Model, path: Path) -> None:
    """Save the architecture and weights only: the optimizer's state would triple the file."""
    serving = keras.Sequential.from_config(model.get_config())  # never compiled: no optimizer
    serving.set_weights(model.get_weights())
    serving.save(path)


BUILDERS = {"dense": build_dense, "cnn": build_cnn}


def describe(model: keras.Model) -> list[str]:
    """One line per layer, e.g. 'Conv2D(32, 3x3)', for the model card."""
    lines = []
    for layer in model.layers:
        config = layer.get_config()
        detail = config.get("units") or config.get("filters") or config.get("rate") or ""
        lines.append(f"{type(layer).__name__}({detail})" if detail != "" else type(layer).__name__)
    return lines
