"""Writes: registering artifacts, fine-tuning on collected drawings, promotion and rollback."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import redis
from django.conf import settings
from django.db import transaction

from inference import registry
from inference.errors import UnknownModel
from inference.models import card_temperature
from training import settings as training_settings
from training.data import MNIST_FILES
from webapp.core.redis_connection import redis_client
from webapp.drawings.selectors import training_drawings, training_writer_keys
from webapp.modelversions.artifacts import model_artifact_fetch, model_artifact_store
from webapp.modelversions.models import HoldoutWriter, ModelArtifact, ModelVersion, VersionStatus

if TYPE_CHECKING:  # training (TensorFlow) is imported only when a fine-tune runs
    from training.finetune import FinetuneResult

logger = logging.getLogger(__name__)


class FinetuneRefused(Exception):
    """A fine-tune cannot start (too little data, no MNIST, one already running); the message says why."""


class ShadowRefused(Exception):
    """A version cannot go into shadow (it is the one serving)."""


# Versions whose files are final: only these are stored for workers to fetch.
FINISHED_STATUSES = (VersionStatus.BASE, VersionStatus.PROMOTED, VersionStatus.REJECTED, VersionStatus.CANDIDATE)


def model_versions_sync() -> list[ModelVersion]:
    """Register every artifact in MODEL_DIR that has no ModelVersion row yet (a fresh database, a newer
    image), and store the files of each finished version that has none stored, so that a worker on any
    machine can fetch them. Returns the rows it created."""
    created = []
    for name in registry.MODEL_NAMES:
        records = {record.version: record for record in ModelVersion.objects.filter(model_name=name)}
        stored = set(
            ModelArtifact.objects.filter(model_version__model_name=name).values_list(
                "model_version__version", flat=True
            )
        )
        for version in registry.versions(name):
            record = records.get(version)
            if record is None:
                record = records[version] = _model_version_register(name, version, records)
                created.append(record)
            elif record.temperature is None and "calibration" in (card := registry.read_card(name, version)):
                record.temperature = card_temperature(card)  # a card calibrated after the row was made
                record.save(update_fields=["temperature"])
            if version not in stored and record.status in FINISHED_STATUSES:
                model_artifact_store(model_version=record)
    return created


def _model_version_register(name: str, version: int, records: dict[int, ModelVersion]) -> ModelVersion:
    """The row of an artifact found on disk, described by its card."""
    card = registry.read_card(name, version)
    if card.get("rejected", False):
        status = VersionStatus.REJECTED
    else:
        status = VersionStatus.BASE if card.get("parent") is None else VersionStatus.PROMOTED
    return ModelVersion.objects.create(
        model_name=name,
        version=version,
        parent=records.get(card.get("parent") or -1),
        artifact=str(registry.artifact_dir(name, version)),
        status=status,
        metrics=card.get("metrics", {}),
        data_counts=card.get("data", {}),
        training_seconds=card.get("training", {}).get("seconds"),
        temperature=card_temperature(card) if "calibration" in card else None,
        started_by="artifact on disk",
    )


@transaction.atomic
def model_version_activate(*, model_name: str, version: int) -> ModelVersion:
    """Make `version` the one new jobs use (promotion and rollback alike); its files must be stored, so
    that every worker can fetch them."""
    registry.check_name(model_name)
    model_versions_sync()
    if not ModelArtifact.objects.filter(model_version__model_name=model_name, model_version__version=version).exists():
        raise UnknownModel(f"Model '{model_name}' has no stored version {version}.")
    target = ModelVersion.objects.select_for_update().get(model_name=model_name, version=version)
    ModelVersion.objects.filter(model_name=model_name, is_active=True).exclude(pk=target.pk).update(is_active=False)
    target.is_active = True
    target.is_shadow = False  # a promoted shadow serves now
    if target.status == VersionStatus.CANDIDATE:
        target.status = VersionStatus.PROMOTED
        target.decision = "Promoted from the shadow by hand."
    target.save(update_fields=["is_active", "is_shadow", "status", "decision"])
    return target


@transaction.atomic
def model_version_shadow_set(*, model_name: str, version: int) -> ModelVersion:
    """Put `version` in shadow: workers run it beside the serving version on SHADOW_SHARE of the drawings
    (one shadow per model, so it replaces another). Its files must be stored, as for activation."""
    from webapp.modelversions.selectors import model_version_active

    registry.check_name(model_name)
    model_versions_sync()
    if not ModelArtifact.objects.filter(model_version__model_name=model_name, model_version__version=version).exists():
        raise UnknownModel(f"Model '{model_name}' has no stored version {version}.")
    if version == model_version_active(model_name):
        raise ShadowRefused(f"{model_name} v{version} serves already: it cannot be its own shadow.")
    target = ModelVersion.objects.select_for_update().get(model_name=model_name, version=version)
    ModelVersion.objects.filter(model_name=model_name, is_shadow=True).exclude(pk=target.pk).update(is_shadow=False)
    target.is_shadow = True
    target.save(update_fields=["is_shadow"])
    return target


def model_version_shadow_stop(*, model_name: str) -> int:
    """No shadow for `model_name` any more; returns how many versions were taken out (0 or 1)."""
    registry.check_name(model_name)
    return ModelVersion.objects.filter(model_name=model_name, is_shadow=True).update(is_shadow=False)


def _writer_rank(key: str, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}:{key}".encode()).digest()


def writer_group(key: str) -> str:
    """The stratum a writer belongs to: an imported set's institution ("writer:gmd" for
    "writer:gmd/kast"), else the kind of key ("client" for browser sessions)."""
    head, _, _ = key.rpartition("/")
    kind, colon, _ = key.partition(":")
    return head or (kind if colon else "")


def _holdout_quotas(group_sizes: dict[str, int], fraction: float, seed: int) -> dict[str, int]:
    """Held-out writers per group: `fraction` of each group, rounded (largest remainder first, ties in
    seeded order) so that the total is `fraction` of all writers."""
    shares = {group: fraction * size for group, size in group_sizes.items()}
    quotas = {group: int(share) for group, share in shares.items()}
    missing = round(fraction * sum(group_sizes.values())) - sum(quotas.values())
    by_remainder = sorted(shares, key=lambda group: (quotas[group] - shares[group], _writer_rank(group, seed)))
    for group in by_remainder[:missing]:
        quotas[group] += 1
    return quotas


@transaction.atomic
def holdout_writers_assign(*, writer_keys: set[str], fraction: float, seed: int) -> set[str]:
    """The held-out writers among `writer_keys`, assigning newcomers so that about `fraction` of the
    writers of each group (`writer_group`) are held out, in seeded order. Earlier assignments never
    change: versions are compared on the same data."""
    known = dict(HoldoutWriter.objects.select_for_update().values_list("writer_key", "held_out"))
    newcomers = sorted(writer_keys - known.keys(), key=lambda key: _writer_rank(key, seed))
    groups = Counter(writer_group(key) for key in [*known, *newcomers])
    held_per_group = Counter(writer_group(key) for key, held in known.items() if held)
    wanted = {group: quota - held_per_group[group] for group, quota in _holdout_quotas(groups, fraction, seed).items()}
    assigned = {}
    for key in newcomers:
        group = writer_group(key)
        assigned[key] = wanted[group] > 0
        wanted[group] -= 1
    HoldoutWriter.objects.bulk_create(HoldoutWriter(writer_key=k, held_out=v) for k, v in assigned.items())
    sides = {**known, **assigned}
    return {key for key in writer_keys if sides[key]}


@dataclass(frozen=True)
class WebsiteData:
    train_x: np.ndarray
    train_y: np.ndarray
    holdout_x: np.ndarray
    holdout_y: np.ndarray
    train_writers: int
    holdout_writers: int


def website_data_collect(*, holdout_fraction: float, seed: int) -> WebsiteData:
    """Labelled, non-excluded drawings as arrays, split into train and holdout by writer."""
    held_out = holdout_writers_assign(writer_keys=training_writer_keys(), fraction=holdout_fraction, seed=seed)
    parts: dict[bool, tuple[list[np.ndarray], list[int]]] = {True: ([], []), False: ([], [])}
    writers: dict[bool, set[str]] = {True: set(), False: set()}
    for drawing in training_drawings():
        side = drawing.writer_key in held_out
        writers[side].add(drawing.writer_key)
        parts[side][0].append(drawing.pixels)
        parts[side][1].append(drawing.label)

    def stack(part: tuple[list[np.ndarray], list[int]]) -> tuple[np.ndarray, np.ndarray]:
        if not part[0]:
            return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
        return np.stack(part[0]).astype(np.float32), np.array(part[1], dtype=np.int64)

    train_x, train_y = stack(parts[False])
    holdout_x, holdout_y = stack(parts[True])
    return WebsiteData(train_x, train_y, holdout_x, holdout_y, len(writers[False]), len(writers[True]))


@contextmanager
def _finetune_lock(model_name: str) -> Iterator[None]:
    """Hold the model's fine-tune lock while the block runs, or raise FinetuneRefused if another process
    holds it. A thread renews it every third of FINETUNE_LOCK_SECONDS; if this process dies, the lock
    expires that long after, and the next fine-tune marks the dead one's version failed."""
    seconds = settings.FINETUNE_LOCK_SECONDS
    # Not thread-local: the renewing thread uses the token the acquiring thread got.
    lock = redis_client().lock(f"inkwell:finetune:{model_name}", timeout=seconds, blocking=False, thread_local=False)
    if not lock.acquire():
        raise FinetuneRefused(f"A fine-tune of {model_name} is already running.")
    stopped = threading.Event()

    def renew() -> None:
        while not stopped.wait(seconds / 3):
            try:
                lock.reacquire()
            except (redis.RedisError, redis.exceptions.LockError):
                logger.warning("Could not renew the fine-tune lock of %s", model_name, exc_info=True)

    renewer = threading.Thread(target=renew, name=f"finetune-lock-{model_name}", daemon=True)
    renewer.start()
    try:
        _finetunes_interrupted_fail(model_name)
        yield
    finally:
        stopped.set()
        renewer.join()
        try:
            lock.release()
        except (redis.RedisError, redis.exceptions.LockError):
            logger.warning("Could not release the fine-tune lock of %s", model_name, exc_info=True)


def _finetunes_interrupted_fail(model_name: str) -> None:
    """Versions still 'training' while this process holds the lock were left by a fine-tune that died."""
    interrupted = ModelVersion.objects.filter(model_name=model_name, status=VersionStatus.TRAINING).update(
        status=VersionStatus.FAILED, decision="Interrupted: the fine-tune stopped before it finished."
    )
    if interrupted:
        logger.warning("Marked %d interrupted fine-tune(s) of %s as failed", interrupted, model_name)


def model_version_finetune(*, model_name: str, started_by: str, epochs: int | None = None) -> ModelVersion:
    """Fine-tune the active version on collected drawings; promote the result only if it is better.

    Four steps: collect the data, train a new version, decide on promotion, record the outcome.
    """
    registry.check_name(model_name)
    with _finetune_lock(model_name):
        data = _finetune_collect()
        record = _finetune_version_create(model_name=model_name, started_by=started_by, data=data)
        result = _finetune_train(record=record, data=data, epochs=epochs or settings.FINETUNE_EPOCHS)
        promote, reason = _finetune_decide(result=result)
        return _finetune_record(record=record, result=result, promote=promote, reason=reason)


def _finetune_collect() -> WebsiteData:
    """The labelled drawings split by writer, or FinetuneRefused if there are too few (or no MNIST)."""
    mnist_dir = training_settings.mnist_dir()
    if mnist_dir is None or not all((mnist_dir / name).is_file() for name in MNIST_FILES.values()):
        raise FinetuneRefused(
            f"Fine-tuning replays MNIST and never downloads it: set MNIST_DIR to a directory with "
            f"{', '.join(MNIST_FILES.values())} (now {mnist_dir or 'unset'})."
        )
    data = website_data_collect(holdout_fraction=settings.FINETUNE_HOLDOUT_FRACTION, seed=settings.FINETUNE_SEED)
    minimum = settings.FINETUNE_MIN_DRAWINGS
    if len(data.train_y) < minimum or len(data.holdout_y) < max(10, minimum // 5):
        raise FinetuneRefused(
            f"Too few labelled drawings to fine-tune: {len(data.train_y)} for training and "
            f"{len(data.holdout_y)} held out; need at least {minimum} and {max(10, minimum // 5)}."
        )
    return data


def _finetune_version_create(*, model_name: str, started_by: str, data: WebsiteData) -> ModelVersion:
    """The row of the version about to be trained, child of the active one."""
    from webapp.modelversions.selectors import model_version_active

    model_versions_sync()
    base = ModelVersion.objects.get(model_name=model_name, version=model_version_active(model_name))
    known = ModelVersion.objects.filter(model_name=model_name).values_list("version", flat=True)
    new_version = max([*known, *registry.versions(model_name)]) + 1
    return ModelVersion.objects.create(
        model_name=model_name,
        version=new_version,
        parent=base,
        artifact=str(registry.artifact_dir(model_name, new_version)),
        status=VersionStatus.TRAINING,
        started_by=started_by,
        data_counts={
            "train_drawings": len(data.train_y),
            "holdout_drawings": len(data.holdout_y),
            "train_writers": data.train_writers,
            "holdout_writers": data.holdout_writers,
        },
    )


def _finetune_train(*, record: ModelVersion, data: WebsiteData, epochs: int) -> FinetuneResult:
    """Train the new version from its parent, reporting progress on the row; a failure is recorded."""
    from training.data import load_mnist
    from training.finetune import FinetuneConfig, LabelledArrays, finetune

    assert record.parent is not None  # _finetune_version_create always sets it
    model_artifact_fetch(record.model_name, record.parent.version)  # this machine may not have it yet

    def report(step: int, total: int, figures: dict[str, float]) -> None:
        record.progress = {**record.progress, "step": step, "total": total, str(step): figures}
        record.save(update_fields=["progress"])

    try:
        return finetune(
            record.model_name,
            base_version=record.parent.version,
            new_version=record.version,
            train=LabelledArrays(data.train_x, data.train_y),
            holdout=LabelledArrays(data.holdout_x, data.holdout_y),
            mnist=load_mnist(),
            config=FinetuneConfig(epochs=epochs),
            progress=report,
        )
    except Exception as exc:
        record.status = VersionStatus.FAILED
        record.decision = f"Fine-tuning failed: {exc}"
        record.save(update_fields=["status", "decision"])
        raise


def _finetune_decide(*, result: FinetuneResult) -> tuple[bool, str]:
    """The promotion rule: better on held-out writers, and at most the margin worse on MNIST."""
    from training.finetune import promotion_decision

    return promotion_decision(result.before, result.after, settings.FINETUNE_MNIST_MARGIN_POINTS)


def _finetune_record(*, record: ModelVersion, result: FinetuneResult, promote: bool, reason: str) -> ModelVersion:
    """Store the outcome on the card and the row, store the files for every worker to fetch, and
    activate the version if it was promoted, or with FINETUNE_PROMOTE=shadow put it in the shadow first."""
    to_shadow = promote and settings.FINETUNE_PROMOTE == "shadow"
    record.metrics = result.card["metrics"]
    record.training_seconds = result.card["training"]["seconds"]
    record.temperature = card_temperature(result.card)  # fitted on the holdout writers by `finetune`
    record.progress = {**record.progress, "history": result.history}
    if to_shadow:
        record.status = VersionStatus.CANDIDATE
        record.decision = f"Passed the gate ({reason}); in the shadow until SHADOW_MIN_DRAWINGS drawings say more."
    else:
        record.status = VersionStatus.PROMOTED if promote else VersionStatus.REJECTED
        record.decision = ("Promoted: " if promote else "Kept the old version: ") + reason
    # A candidate's card says rejected until the shadow promotes it, so that a fresh install never serves it.
    registry.card_update(
        record.model_name, record.version, {"rejected": not promote or to_shadow, "decision": record.decision}
    )
    model_artifact_store(model_version=record)
    record.save()
    if to_shadow:
        model_version_shadow_set(model_name=record.model_name, version=record.version)
    elif promote:
        model_version_activate(model_name=record.model_name, version=record.version)
    record.refresh_from_db()
    return record


def model_finetune_enqueue(*, model_name: str, started_by: str) -> None:
    """Start a fine-tune on the `training` queue (its own worker), e.g. from the admin."""
    # Imported here: the task module imports these services.
    from webapp.modelversions.tasks import model_finetune_task

    registry.check_name(model_name)
    model_finetune_task.delay(model_name, started_by)
