"""Model cards: what a trained artifact is, how it was made and how well it does.

Built here; written only by `inference.registry.write_card`.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from typing import Any


def git_commit() -> str:
    """The repository's current commit, or 'unknown' outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_card(
    *,
    name: str,
    version: int,
    title: str,
    framework: str,
    description: str,
    architecture: list[str],
    parameters: int,
    metrics: dict[str, float],
    training: dict[str, Any],
    data: dict[str, Any],
    parent: int | None = None,
) -> dict[str, Any]:
    """Assemble a model card as a JSON-ready dict."""
    return {
        "name": name,
        "version": version,
        "parent": parent,
        "title": title,
        "framework": framework,
        "description": description,
        "architecture": architecture,
        "parameters": parameters,
        "metrics": metrics,
        "training": training,
        "data": data,
        "git_commit": git_commit(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
