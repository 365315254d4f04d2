"""Fixtures of the webapp tests that train: a private model directory."""

from __future__ import annotations

import shutil

import pytest
import redis

from inference import registry


@pytest.fixture
def model_dir(tmp_path, monkeypatch, settings, redis_server):
    """A private copy of the committed numpy model, so fine-tunes never touch the repository (and the
    tests' Redis, which holds the fine-tune lock). A given REDIS_URL is never flushed, so the automatic
    attempts an earlier run recorded there are forgotten first."""
    from webapp.modelversions.automatic import attempt_key

    redis.Redis.from_url(redis_server).delete(*(attempt_key(name) for name in registry.MODEL_NAMES))
    source = registry.artifact_dir("numpy", registry.latest_version("numpy"))
    shutil.copytree(source, tmp_path / "numpy" / "1")
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    registry.card_update("numpy", 1, {"version": 1, "parent": None})
    settings.FINETUNE_MIN_DRAWINGS = 60
    settings.FINETUNE_EPOCHS = 2
    monkeypatch.setattr("webapp.modelversions.selectors.ACTIVE_VERSION_TTL_SECONDS", 0)
    return tmp_path
