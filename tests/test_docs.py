"""The documentation builds without a warning, and README and the docs speak of the product as it is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HISTORY = re.compile(r"\b(session|issue) [0-9]+|until session|since session", re.IGNORECASE)


def test_the_site_builds_strictly(tmp_path):
    # --strict: a broken link, a missing image or a page left out of the navigation fails.
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "index.html").exists()


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_readme_docs_and_code_tell_no_history():
    texts = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    for package in ("webapp", "inference", "training", "worker", "bench"):
        texts += (ROOT / package).rglob("*.py")
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}" for path in texts for match in HISTORY.finditer(path.read_text())
    ]
    assert found == []
