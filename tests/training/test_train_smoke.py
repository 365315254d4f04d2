"""A training smoke run of each model: a few hundred images, one epoch, artifact and card on disk."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from inference import registry
from tests.factories import mnist
from training.metrics import accuracy
from training.train import RECIPES, train_model

IMAGES = 300
CARD_FIELDS = ("name", "version", "architecture", "parameters", "metrics", "git_commit", "created_at")


@pytest.mark.parametrize("name", list(RECIPES))
def test_smoke_training_writes_a_loadable_artifact_and_a_complete_card(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    data = mnist()

    card = train_model(name, mnist=data, epochs=1, limit=IMAGES)

    directory = tmp_path / name / "1"
    assert json.loads((directory / "card.json").read_text()) == card
    for field in CARD_FIELDS:
        assert card[field] not in (None, "", [], {}), field
    assert (card["name"], card["version"]) == (name, 1)
    assert card["parameters"] > 0
    assert 0.0 <= card["metrics"]["mnist_test_accuracy"] <= 1.0
    assert 0.0 <= card["metrics"]["hwd1000_accuracy"] <= 1.0
    assert card["training"]["seed"] == 20231125
    assert 0 < card["training"]["seconds"] < 300
    assert card["data"]["train_images"] == IMAGES
    assert (card["data"]["negatives"], card["data"]["classes"]) == (IMAGES // 4, 11)
    assert 0.0 <= card["metrics"]["negatives_test_rejected"] <= 1.0
    assert set(card["data"]["checksums_sha256"]) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    assert len(card["git_commit"]) == 40
    datetime.fromisoformat(card["created_at"])

    model = registry.get_model(name)
    assert (model.name, model.version, model.card) == (name, 1, card)
    probabilities = model.predict(data.x_test)
    assert probabilities.shape == (len(data.x_test), 11)
    assert accuracy(probabilities, data.y_test) == pytest.approx(card["metrics"]["mnist_test_accuracy"], abs=2e-3)
    assert np.isfinite(probabilities).all()


def test_without_negatives_the_model_has_ten_classes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    data = mnist()

    card = train_model("numpy", mnist=data, epochs=1, limit=IMAGES, negatives=0)

    assert (card["data"]["negatives"], card["data"]["classes"]) == (0, 10)
    assert "negatives_test_rejected" not in card["metrics"]
    assert registry.get_model("numpy").predict(data.x_test).shape == (len(data.x_test), 10)
