"""Which version of a model serves new jobs, without the drawings app importing modelversions.

The modelversions app registers its selector here when Django starts (`ModelVersionsConfig.ready`);
until then, or without that app, the newest artifact on disk serves.
"""

from __future__ import annotations

from collections.abc import Callable

from inference import registry

VersionResolver = Callable[[str], int]

_resolver: VersionResolver = registry.latest_version


def active_version_resolver_set(resolver: VersionResolver) -> None:
    """Make `resolver(model_name) -> version` the source of the serving version."""
    global _resolver
    _resolver = resolver


def active_version(model_name: str) -> int:
    """The version of `model_name` that new jobs use."""
    return _resolver(model_name)
