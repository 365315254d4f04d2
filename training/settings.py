"""Where training and evaluation find their data: read from the environment when called."""

from __future__ import annotations

import os
from pathlib import Path


def _directory(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value) if value else None


def mnist_dir() -> Path | None:
    """Directory with the four MNIST IDX .gz files (`MNIST_DIR`); None if it is not set (nothing is downloaded)."""
    return _directory("MNIST_DIR")


def hwd1000_dir() -> Path | None:
    """Directory of HwD-1000 (`HWD1000_DIR`): dataset.csv and img/."""
    return _directory("HWD1000_DIR")


def unipen_dir() -> Path | None:
    """Directory of unipen-dev (`UNIPEN_DIR`): digits.jsonl.gz."""
    return _directory("UNIPEN_DIR")
