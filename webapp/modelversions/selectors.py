"""Reads: which version of a model serves, and each model's public figures."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Q

from inference import registry
from webapp.modelversions.models import ModelArtifact, ModelVersion, VersionStatus

# Workers re-read the active version at most this often, so a promotion reaches them within it.
ACTIVE_VERSION_TTL_SECONDS = 1.0
_active_cache: dict[str, tuple[float, int]] = {}


def model_version_active(name: str) -> int:
    """The version new jobs use: the active ModelVersion row, else the newest stored version that was not
    rejected, else (a database that never ran `sync_models`) the newest artifact on disk. Every model's is
    read in one query and kept for ACTIVE_VERSION_TTL_SECONDS (a job asks for all three: the committee)."""
    now = time.monotonic()
    cached = _active_cache.get(name)
    if cached is not None and now - cached[0] < ACTIVE_VERSION_TTL_SECONDS:
        return cached[1]
    versions = _serving_versions()
    for model_name, version in versions.items():
        _active_cache[model_name] = (now, version)
    if name not in versions:
        _active_cache[name] = (now, registry.latest_version(name))
    return _active_cache[name][1]


_shadow_cache: tuple[float, dict[str, int]] | None = None


def model_version_shadow(name: str) -> int | None:
    """The version of `name` that answers in the shadow, if any. Every model's is read in one query and
    kept for ACTIVE_VERSION_TTL_SECONDS, so putting a version in shadow reaches the workers within it."""
    global _shadow_cache
    now = time.monotonic()
    if _shadow_cache is None or now - _shadow_cache[0] >= ACTIVE_VERSION_TTL_SECONDS:
        rows = ModelVersion.objects.filter(is_shadow=True).values_list("model_name", "version")
        _shadow_cache = (now, dict(rows))
    return _shadow_cache[1].get(name)


def _serving_versions() -> dict[str, int]:
    """Each model's active version, else its newest stored version that was not rejected, by model name."""
    rows = ModelVersion.objects.filter(
        Q(is_active=True) | Q(status__in=[VersionStatus.BASE, VersionStatus.PROMOTED], stored_artifact__isnull=False)
    ).values_list("model_name", "version", "is_active")
    newest: dict[str, int] = {}
    active: dict[str, int] = {}
    for model_name, version, is_active in rows:
        newest[model_name] = max(version, newest.get(model_name, version))
        if is_active:
            active[model_name] = version
    return {**newest, **active}


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
