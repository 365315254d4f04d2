"""The house style is checked, not hoped for: ruff (lint and format) and mypy with the Django stubs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_no_lint_errors_and_nothing_to_reformat():
    lint = run(sys.executable, "-m", "ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout
    formatting = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert formatting.returncode == 0, formatting.stdout


def test_mypy_passes_on_the_code():
    result = run(sys.executable, "-m", "mypy", "inference", "training", "webapp", "worker", "bench")
    assert result.returncode == 0, result.stdout


def test_every_model_change_has_its_migration():
    result = run(sys.executable, "manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
