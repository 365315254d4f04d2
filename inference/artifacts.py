"""A version's artifact as one zip that can travel: pack a `models/<name>/<version>/` directory, and
unpack one into a machine's model cache only if every file has the checksum it was stored with.

Pure Python (no Django): where the zip is kept and how it is fetched is the caller's business; this
module only guarantees that a cache directory holds exactly the files it should, or nothing new.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from inference.errors import InferenceError

# A fixed timestamp makes the zip of the same files the same bytes, so its checksum names its content.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class ArtifactCorrupt(InferenceError):
    """An artifact's bytes do not match the checksum it was stored with; it is refused, never loaded."""

    code = "artifact_corrupt"


@dataclass(frozen=True)
class PackedArtifact:
    """A version directory as a zip: the archive, its sha256, and the sha256 of each file in it."""

    archive: bytes
    sha256: str
    files: dict[str, str]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack(directory: Path) -> PackedArtifact:
    """Zip the files of a version directory (weights and card; flat, no subdirectories)."""
    names = sorted(path.name for path in directory.iterdir() if path.is_file())
    if not names:
        raise FileNotFoundError(f"No artifact files in {directory}.")
    files: dict[str, str] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            data = (directory / name).read_bytes()
            files[name] = sha256_of(data)
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    packed = buffer.getvalue()
    return PackedArtifact(archive=packed, sha256=sha256_of(packed), files=files)


def matches(directory: Path, files: dict[str, str]) -> bool:
    """Whether `directory` holds exactly `files` (name -> sha256): none missing, none extra, none changed."""
    if not directory.is_dir():
        return False
    present = {path.name for path in directory.iterdir()}
    return present == set(files) and all(_file_sha256(directory / name) == digest for name, digest in files.items())


def unpack(archive: bytes, *, sha256: str, files: dict[str, str], destination: Path) -> None:
    """Replace `destination` with the archive's files, after checking the archive and every file in it.

    The files are written to a sibling directory and swapped in by renames, so a reader never sees a
    half-written version; a mismatch raises ArtifactCorrupt and leaves `destination` as it was.
    """
    if sha256_of(archive) != sha256:
        raise ArtifactCorrupt(f"The stored archive for {destination} does not match its sha256; refusing it.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.new-", dir=destination.parent))
    staging.chmod(0o755)
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            names = opened.namelist()
            if sorted(names) != sorted(files) or any(Path(name).name != name for name in names):
                raise ArtifactCorrupt(f"The archive for {destination} holds {names}, expected {sorted(files)}.")
            for name in names:
                (staging / name).write_bytes(opened.read(name))
        if not matches(staging, files):
            raise ArtifactCorrupt(f"The files unpacked for {destination} do not match their checksums.")
        _swap_in(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, destination: Path) -> None:
    """Move `staging` to `destination`, moving an existing (stale or corrupt) one out of the way first."""
    if destination.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=destination.parent))
        os.replace(destination, stale / "version")
        shutil.rmtree(stale, ignore_errors=True)
    os.replace(staging, destination)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One process at a time per version directory on this machine (prefork children share the cache)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_cached(directory: Path, *, sha256: str, files: dict[str, str], archive: Callable[[], bytes]) -> bool:
    """Make `directory` hold the verified files of an artifact, calling `archive()` for the zip only when
    the cache lacks them or any file fails its checksum. Returns whether it fetched."""
    with _locked(directory):
        if matches(directory, files):
            return False
        unpack(archive(), sha256=sha256, files=files, destination=directory)
        return True
