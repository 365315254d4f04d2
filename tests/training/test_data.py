"""Loading the data sets: MNIST comes only from the files it is given, never from a download."""

from __future__ import annotations

import pytest

from training.data import MNIST_FILES, load_mnist


def test_load_mnist_without_mnist_dir_says_to_set_it_instead_of_downloading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNIST_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="Set MNIST_DIR"):
        load_mnist()


def test_load_mnist_reads_the_four_idx_files_of_mnist_dir() -> None:
    data = load_mnist()
    assert data.x_train.shape[1:] == data.x_test.shape[1:] == (28, 28)
    assert (len(data.y_train), len(data.y_test)) == (len(data.x_train), len(data.x_test))
    assert 0.0 <= data.x_test.min() and data.x_test.max() <= 1.0
    assert set(data.y_test.tolist()) == set(range(10))
    assert set(data.checksums) == set(MNIST_FILES.values())
