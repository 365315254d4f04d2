"""Accuracy, per-class accuracy and confusions from predicted probabilities."""

from __future__ import annotations

import numpy as np


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose most probable class is the label."""
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    return matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)


def most_confused(matrix: np.ndarray, count: int = 3) -> list[tuple[int, int, int]]:
    """The `count` largest off-diagonal cells as (true, predicted, times)."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:count]
    classes = matrix.shape[1]
    return [(int(i // classes), int(i % classes), int(off.flat[i])) for i in order if off.flat[i] > 0]
