"""Model artifacts travel through the database: a version's files are stored as a checksummed zip when
the version is recorded, and a worker fetches them into its own MODEL_DIR (checked) before loading.

The zip and the checks are `inference.artifacts`; this module only decides where the bytes live.
"""

from __future__ import annotations

import logging

from inference import artifacts, registry
from webapp.modelversions.models import ModelArtifact, ModelVersion

logger = logging.getLogger(__name__)


def model_artifact_store(*, model_version: ModelVersion) -> ModelArtifact:
    """Store the files of `model_version` from MODEL_DIR in the database (once: a stored artifact is
    what every worker gets for that version from then on)."""
    directory = registry.artifact_dir(model_version.model_name, model_version.version)
    packed = artifacts.pack(directory)
    artifact, _ = ModelArtifact.objects.get_or_create(
        model_version=model_version,
        defaults={
            "archive": packed.archive,
            "sha256": packed.sha256,
            "files": packed.files,
            "size": len(packed.archive),
            "card": registry.read_card(model_version.model_name, model_version.version),
        },
    )
    return artifact


def _stored(model_name: str, version: int) -> ModelArtifact | None:
    """The stored artifact of a version, without its archive (fetched only when needed)."""
    return (
        ModelArtifact.objects.filter(model_version__model_name=model_name, model_version__version=version)
        .defer("archive")
        .first()
    )


def model_artifact_fetch(model_name: str, version: int) -> bool:
    """Make MODEL_DIR/<name>/<version>/ hold the stored files of a version, checked against their sha256:
    fetched from the database when this machine lacks them or any file fails its checksum, refused
    (ArtifactCorrupt) when the stored archive itself fails. Returns whether it fetched.

    A version with no stored artifact (a checkout whose database never ran `sync_models`) is left to
    the local files."""
    stored = _stored(model_name, version)
    if stored is None:
        return False

    def archive() -> bytes:
        return bytes(ModelArtifact.objects.values_list("archive", flat=True).get(pk=stored.pk))

    directory = registry.artifact_dir(model_name, version)
    try:
        fetched = artifacts.ensure_cached(directory, sha256=stored.sha256, files=stored.files, archive=archive)
    except artifacts.ArtifactCorrupt as exc:
        logger.error("Refused %s v%s: %s", model_name, version, exc.message)
        raise
    if fetched:
        logger.info("Fetched %s v%s (%s bytes) into %s", model_name, version, stored.size, directory)
    return fetched
