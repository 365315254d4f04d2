"""Imports run one way: inference <- training <- webapp <- worker (bench measures them all from outside), and no
loop between webapp's apps."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> packages it must never import
FORBIDDEN = {
    "inference": ("training", "webapp", "worker", "bench", "django", "celery"),
    "training": ("webapp", "worker", "bench", "django", "celery"),
    "webapp": ("worker", "bench"),
    "worker": ("bench",),
    "webapp/core": ("webapp.drawings", "webapp.modelversions", "webapp.page"),
    "webapp/drawings": ("webapp.modelversions", "webapp.page"),
    "webapp/modelversions": ("webapp.page",),
}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_the_layers_above_it(package):
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for module in imported_modules(path)
        if any(module == banned or module.startswith(f"{banned}.") for banned in FORBIDDEN[package])
    ]
    assert offenders == []
