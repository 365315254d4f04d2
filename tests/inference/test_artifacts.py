"""A version's artifact as a checksummed zip: unpacked into a cache only when every byte matches."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from inference import registry
from inference.artifacts import ArtifactCorrupt, PackedArtifact, ensure_cached, matches, pack, sha256_of

COMMITTED = registry.artifact_dir("numpy", registry.latest_version("numpy"))


class Source:
    """Stands for the database: hands out one packed artifact and counts how often it was fetched."""

    def __init__(self, packed: PackedArtifact, archive: bytes | None = None) -> None:
        self.packed = packed
        self.archive = packed.archive if archive is None else archive
        self.fetches = 0

    def __call__(self) -> bytes:
        self.fetches += 1
        return self.archive

    def ensure(self, directory: Path) -> bool:
        return ensure_cached(directory, sha256=self.packed.sha256, files=self.packed.files, archive=self)


def test_packing_the_same_files_gives_the_same_bytes_and_a_checksum_per_file():
    first, second = pack(COMMITTED), pack(COMMITTED)
    assert first.archive == second.archive and first.sha256 == sha256_of(first.archive)
    assert set(first.files) == {"card.json", "weights.npz"}
    assert first.files["weights.npz"] == sha256_of((COMMITTED / "weights.npz").read_bytes())


def test_an_empty_cache_is_filled_once_and_then_only_checked(tmp_path):
    source = Source(pack(COMMITTED))
    cached = tmp_path / "numpy" / "4"
    assert source.ensure(cached) is True
    assert (cached / "weights.npz").read_bytes() == (COMMITTED / "weights.npz").read_bytes()
    assert source.ensure(cached) is False
    assert source.fetches == 1
    assert sorted(path.name for path in cached.parent.iterdir() if not path.name.startswith(".")) == ["4"]


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "missing", "extra file"])
def test_a_damaged_cached_version_is_fetched_again(tmp_path, damage):
    source = Source(pack(COMMITTED))
    cached = tmp_path / "numpy" / "4"
    source.ensure(cached)
    weights = cached / "weights.npz"
    if damage == "flipped byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "missing":
        weights.unlink()
    else:
        (cached / "stray.bin").write_bytes(b"?")
    assert not matches(cached, source.packed.files)
    assert source.ensure(cached) is True
    assert matches(cached, source.packed.files) and source.fetches == 2


def test_an_archive_that_fails_its_checksum_is_refused_and_the_cache_left_alone(tmp_path):
    packed = pack(COMMITTED)
    damaged = bytearray(packed.archive)
    damaged[len(damaged) // 2] ^= 0xFF
    source = Source(packed, archive=bytes(damaged))
    cached = tmp_path / "numpy" / "4"
    with pytest.raises(ArtifactCorrupt):
        source.ensure(cached)
    assert not cached.exists()
    assert [path.name for path in tmp_path.joinpath("numpy").iterdir() if not path.name.endswith(".lock")] == []


def test_an_archive_whose_files_do_not_match_their_checksums_is_refused(tmp_path):
    packed = pack(COMMITTED)
    files = {**packed.files, "weights.npz": "0" * 64}
    with pytest.raises(ArtifactCorrupt, match="do not match"):
        ensure_cached(tmp_path / "numpy" / "4", sha256=packed.sha256, files=files, archive=lambda: packed.archive)
    assert not (tmp_path / "numpy" / "4").exists()


def test_an_archive_with_paths_outside_the_version_directory_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escaped.txt", b"x")
    data = buffer.getvalue()
    files = {"../escaped.txt": sha256_of(b"x")}
    with pytest.raises(ArtifactCorrupt):
        ensure_cached(tmp_path / "models" / "numpy" / "4", sha256=sha256_of(data), files=files, archive=lambda: data)
    assert not (tmp_path / "models" / "numpy" / "escaped.txt").exists()
