"""Loading MNIST, HwD-1000 and unipen-dev into arrays and bytes."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import settings

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass(frozen=True)
class Mnist:
    """MNIST as float32 images in [0, 1] (white ink on black) and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    checksums: dict[str, str]


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip-compressed IDX file (images or labels) into a uint8 array."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dimensions = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_mnist(directory: Path | None = None) -> Mnist:
    """MNIST from `directory` (default `MNIST_DIR`); it never downloads anything."""
    directory = directory or settings.mnist_dir()
    if directory is None:
        raise FileNotFoundError("Set MNIST_DIR to the directory with the four MNIST IDX .gz files.")
    arrays = {key: read_idx(directory / name) for key, name in MNIST_FILES.items()}
    x_train, y_train = arrays["train_images"], arrays["train_labels"]
    x_test, y_test = arrays["test_images"], arrays["test_labels"]
    checksums = {name: sha256(directory / name) for name in MNIST_FILES.values()}
    return Mnist(
        x_train=x_train.astype(np.float32) / 255.0,
        y_train=y_train.astype(np.int64),
        x_test=x_test.astype(np.float32) / 255.0,
        y_test=y_test.astype(np.int64),
        checksums=checksums,
    )


def load_hwd1000(directory: Path | None = None) -> list[tuple[bytes, int]]:
    """HwD-1000 as (PNG bytes, label) pairs, in the order of its dataset.csv."""
    directory = directory or settings.hwd1000_dir()
    if directory is None:
        raise FileNotFoundError("Set HWD1000_DIR to the HwD-1000 directory.")
    with open(directory / "dataset.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [((directory / row["image"]).read_bytes(), int(row["label"])) for row in rows]


def _unipen_file(name: str, directory: Path | None) -> list[dict[str, Any]]:
    directory = directory or settings.unipen_dir()
    if directory is None:
        raise FileNotFoundError("Set UNIPEN_DIR to the unipen-dev directory.")
    with gzip.open(directory / name, "rt") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_unipen(directory: Path | None = None) -> list[dict[str, Any]]:
    """unipen-dev digits: dicts with label, institution, writer, source and strokes."""
    return _unipen_file("digits.jsonl.gz", directory)


def load_unipen_letters(directory: Path | None = None) -> list[dict[str, Any]]:
    """unipen-dev's letters (negatives for "not a digit"): dicts like `load_unipen`'s, `label` a letter."""
    return _unipen_file("letters.jsonl.gz", directory)
