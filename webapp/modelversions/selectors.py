"""Reads: which version of a model serves, and each model's public figures."""

from __future__ import annotations

import time
from typing import Any

from inference import registry
from webapp.modelversions.models import ModelArtifact, ModelVersion, VersionStatus

# Workers re-read the active version at most this often, so a promotion reaches them within it.
ACTIVE_VERSION_TTL_SECONDS = 1.0
_active_cache: dict[str, tuple[float, int]] = {}


def model_version_active(name: str) -> int:
    """The version new jobs use: the active ModelVersion row, else the newest stored version that was not
    rejected, else (a database that never ran `sync_models`) the newest artifact on disk."""
    now = time.monotonic()
    cached = _active_cache.get(name)
    if cached is not None and now - cached[0] < ACTIVE_VERSION_TTL_SECONDS:
        return cached[1]
    version = ModelVersion.objects.filter(model_name=name, is_active=True).values_list("version", flat=True).first()
    if version is None:
        version = (
            ModelVersion.objects.filter(
                model_name=name,
                status__in=[VersionStatus.BASE, VersionStatus.PROMOTED],
                stored_artifact__isnull=False,
            )
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
    if version is None:
        version = registry.latest_version(name)
    _active_cache[name] = (now, version)
    return version


def model_card(name: str, version: int) -> dict[str, Any]:
    """The card of a version: the stored one, else the one in MODEL_DIR, so that a process without the
    files (the web, on another machine than the trainer) still describes every version."""
    card = (
        ModelArtifact.objects.filter(model_version__model_name=name, model_version__version=version)
        .values_list("card", flat=True)
        .first()
    )
    return card if card is not None else registry.read_card(name, version)


def model_list() -> list[dict[str, Any]]:
    """Each model's description and its active version's figures (from the card and the row)."""
    models = []
    for name in registry.MODEL_NAMES:
        version = model_version_active(name)
        card = model_card(name, version)
        metrics = card.get("metrics", {})
        models.append(
            {
                "name": name,
                "title": card["title"],
                "framework": card["framework"],
                "version": version,
                "parameters": card["parameters"],
                "mnist_accuracy": metrics.get("mnist_test_accuracy"),
                "website_accuracy": metrics.get("holdout_accuracy", metrics.get("hwd1000_accuracy")),
                "description": card["description"],
                "default": name == registry.DEFAULT_MODEL,
            }
        )
    return models
