"""Model cards have one writer, `registry.write_card`, and it never leaves half a card behind."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from inference import registry

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRECTORIES = ("inference", "training", "webapp", "worker")
CARD = {"name": "numpy", "version": 1, "framework": "numpy", "metrics": {"mnist_test_accuracy": 0.99}}


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    return tmp_path


def test_a_written_card_reads_back_and_makes_the_version_visible(model_dir: Path) -> None:
    registry.write_card("numpy", 1, CARD)
    assert registry.read_card("numpy", 1) == CARD
    assert registry.versions("numpy") == [1]
    assert sorted(p.name for p in (model_dir / "numpy" / "1").iterdir()) == ["card.json"]


def test_a_card_is_written_to_a_temporary_file_and_moved_into_place(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moves: list[tuple[Path, Path, str]] = []
    real_replace = os.replace

    def spy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        moves.append((Path(source), Path(target), Path(source).read_text()))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    registry.write_card("numpy", 1, CARD)
    [(source, target, text)] = moves
    assert target == model_dir / "numpy" / "1" / "card.json"
    assert source.parent == target.parent and source.name != "card.json"
    assert json.loads(text) == CARD


def test_a_failed_card_write_leaves_the_old_card_whole_and_no_temporary_file(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.write_card("numpy", 1, CARD)

    def fail(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", fail)
        with pytest.raises(OSError, match="disk full"):
            registry.card_update("numpy", 1, {"rejected": True})
    assert registry.read_card("numpy", 1) == CARD
    assert sorted(p.name for p in (model_dir / "numpy" / "1").iterdir()) == ["card.json"]


def test_a_card_that_is_not_json_leaves_the_old_card_whole(model_dir: Path) -> None:
    registry.write_card("numpy", 1, CARD)
    with pytest.raises(TypeError):
        registry.write_card("numpy", 1, {**CARD, "metrics": object()})
    assert registry.read_card("numpy", 1) == CARD
    assert sorted(p.name for p in (model_dir / "numpy" / "1").iterdir()) == ["card.json"]


def test_card_update_changes_only_the_given_fields(model_dir: Path) -> None:
    registry.write_card("numpy", 1, CARD)
    assert registry.card_update("numpy", 1, {"rejected": True}) == {**CARD, "rejected": True}
    assert registry.read_card("numpy", 1) == {**CARD, "rejected": True}


def test_the_registry_is_the_only_code_that_names_the_card_file() -> None:
    """Everything else reads and writes cards through `read_card`, `write_card` and `card_update`."""
    pattern = re.compile(r"card\.json|CARD_FILE|def write_card")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for directory in CODE_DIRECTORIES
        for path in sorted((ROOT / directory).rglob("*.py"))
        if path != ROOT / "inference" / "registry.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert offenders == []
