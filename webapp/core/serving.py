"""Which version of a model serves, and the loaded model of that version, without the drawings app
importing modelversions.

The modelversions app registers its selector and its artifact fetcher here when Django starts
(`ModelVersionsConfig.ready`); until then, or without that app, the newest artifact on disk serves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from django.conf import settings

from inference import registry
from inference.committee import CommitteeModel
from inference.errors import InferenceError
from inference.models import DigitModel

logger = logging.getLogger(__name__)

VersionResolver = Callable[[str], int]
ShadowResolver = Callable[[str], int | None]
ArtifactFetcher = Callable[[str, int], object]

_resolver: VersionResolver = registry.latest_version
_shadow_resolver: ShadowResolver = lambda model_name: None  # noqa: E731 (no shadows without modelversions)
_fetcher: ArtifactFetcher | None = None
# (process, MODEL_DIR, model, version) whose files this process has fetched or checked.
_checked: set[tuple[int, str, str, int]] = set()


def active_version_resolver_set(resolver: VersionResolver) -> None:
    """Make `resolver(model_name) -> version` the source of the serving version."""
    global _resolver
    _resolver = resolver


def shadow_version_resolver_set(resolver: ShadowResolver) -> None:
    """Make `resolver(model_name) -> version or None` the source of the version answering in the shadow."""
    global _shadow_resolver
    _shadow_resolver = resolver


def artifact_fetcher_set(fetcher: ArtifactFetcher) -> None:
    """Make `fetcher(model_name, version)` put a version's checked files into MODEL_DIR before it loads."""
    global _fetcher
    _fetcher = fetcher


def active_version(model_name: str) -> int:
    """The version of `model_name` that new jobs use."""
    return _resolver(model_name)


def serving_model(model_name: str) -> DigitModel:
    """The loaded model of the version that serves. The first time a process needs a version, its files
    are fetched into this machine's MODEL_DIR (or, if already there, checked) before they are loaded."""
    return version_model(model_name, active_version(model_name))


def version_model(model_name: str, version: int) -> DigitModel:
    """The loaded model of a given version (e.g. the one a drawing ran on), fetched first like `serving_model`."""
    key = (os.getpid(), str(registry.model_dir()), model_name, version)
    if _fetcher is not None and key not in _checked:
        _fetcher(model_name, version)
        _checked.add(key)
    return registry.get_model(model_name, version)


def shadow_version(model_name: str) -> int | None:
    """The version of `model_name` that answers in the shadow beside the serving one, if any."""
    return _shadow_resolver(model_name)


def answering_model(model_name: str, version: int | None = None) -> CommitteeModel:
    """The serving model of `model_name` (or its `version`, e.g. a shadow), with "not a digit" decided by
    the serving versions of every other model together with it (`inference.committee`), or by the model
    alone when `NOT_A_DIGIT_COMMITTEE` is off."""
    chosen = serving_model(model_name) if version is None else version_model(model_name, version)
    if not settings.NOT_A_DIGIT_COMMITTEE:
        return CommitteeModel(chosen, [])
    others = [_member(name) for name in registry.MODEL_NAMES if name != model_name]
    return CommitteeModel(chosen, [member for member in others if member is not None])


def _member(name: str) -> DigitModel | None:
    """The serving model of `name` as a committee member; None for a model this machine cannot load (no
    artifact, a damaged one: the job goes on without its vote)."""
    try:
        return serving_model(name)
    except InferenceError as exc:
        if name not in _missing_members:  # once per process, not per job
            _missing_members.add(name)
            logger.warning("No %s in the committee: %s", name, exc)
        return None


_missing_members: set[str] = set()
