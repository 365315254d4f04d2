"""Find models by name and version under `MODEL_DIR/<name>/<version>/` and load them once per process.

Loading is lazy and keyed by process id, so a Celery prefork child loads its own copy after the fork
(TensorFlow is not fork-safe) and never inherits a half-initialised one from its parent.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from inference.errors import UnknownModel
from inference.models import LOADERS, DigitModel

MODEL_NAMES = ("cnn", "dense", "numpy")
DEFAULT_MODEL = "cnn"
CARD_FILE = "card.json"

_cache: dict[tuple[int, str, str, int], DigitModel] = {}
_lock = threading.Lock()


# The committed artifacts (resolved once: every job asks where the models are).
REPOSITORY_MODEL_DIR = Path(__file__).resolve().parent.parent / "models"


def model_dir() -> Path:
    """Root of the model artifacts: `MODEL_DIR`, or the repository's `models/`."""
    configured = os.environ.get("MODEL_DIR", "").strip()
    return Path(configured) if configured else REPOSITORY_MODEL_DIR


def check_name(name: str) -> str:
    """Return `name` if it is a known model, else raise UnknownModel listing the valid ones."""
    if name not in MODEL_NAMES:
        raise UnknownModel(f"Unknown model '{name}'. Choose one of: {', '.join(MODEL_NAMES)}.")
    return name


def versions(name: str) -> list[int]:
    """Versions of a model that have an artifact, oldest first."""
    directory = model_dir() / check_name(name)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and (p / CARD_FILE).is_file())


def latest_version(name: str) -> int:
    """The newest version on disk that was not rejected at promotion (what a fresh install serves)."""
    found = [v for v in versions(name) if not read_card(name, v).get("rejected", False)]
    if not found:
        raise UnknownModel(f"Model '{name}' has no trained artifact in {model_dir() / name}.")
    return found[-1]


def artifact_dir(name: str, version: int) -> Path:
    return model_dir() / check_name(name) / str(version)


def read_card(name: str, version: int | None = None) -> dict[str, Any]:
    """The model card (JSON) of a version, the latest by default."""
    version = latest_version(name) if version is None else version
    path = artifact_dir(name, version) / CARD_FILE
    if not path.is_file():
        raise UnknownModel(f"Model '{name}' has no version {version}.")
    return json.loads(path.read_text())


def write_card(name: str, version: int, card: dict[str, Any]) -> None:
    """Write a version's card, the only place cards are written: atomically, through a temporary file
    and `os.replace`, so a reader (a worker, `versions()`) never sees a half-written card."""
    directory = artifact_dir(name, version)
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(card, indent=2) + "\n"
    temporary = directory / f".{CARD_FILE}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "x") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / CARD_FILE)
    finally:
        temporary.unlink(missing_ok=True)


def card_update(name: str, version: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Add or change fields of a version's card (e.g. the promotion decision)."""
    card = {**read_card(name, version), **changes}
    write_card(name, version, card)
    return card


def get_model(name: str, version: int | None = None) -> DigitModel:
    """The loaded model (latest version by default), loaded on first use in this process."""
    version = latest_version(name) if version is None else version
    key = (os.getpid(), str(model_dir()), name, version)
    with _lock:
        if key not in _cache:
            card = read_card(name, version)
            loader = LOADERS[card["framework"]]
            _cache[key] = loader(name, version, card, artifact_dir(name, version))
        return _cache[key]


def loaded_models() -> list[tuple[str, int]]:
    """(name, version) of the models this process has loaded."""
    pid = os.getpid()
    return sorted({(name, version) for (owner, _, name, version) in _cache if owner == pid})
