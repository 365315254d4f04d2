"""Writes: registering artifacts, fine-tuning on collected drawings, promotion and rollback."""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass

import numpy as np
import redis
from django.conf import settings
from django.db import transaction
from PIL import Image

from inference import registry
from inference.errors import InferenceError
from inference.preprocess import preprocess
from webapp.drawings.models import Drawing
from webapp.drawings.redis_connection import redis_client
from webapp.modelversions.models import HoldoutWriter, ModelVersion, VersionStatus


class FinetuneRefused(Exception):
    """A fine-tune cannot start (too little data, one already running); the message says why."""


def model_versions_sync() -> list[ModelVersion]:
    """Register every artifact on disk that has no ModelVersion row yet (fresh installs)."""
    created = []
    for name in registry.MODEL_NAMES:
        known = set(ModelVersion.objects.filter(model_name=name).values_list("version", flat=True))
        for version in registry.versions(name):
            if version in known:
                continue
            card = registry.read_card(name, version)
            parent = ModelVersion.objects.filter(model_name=name, version=card.get("parent") or -1).first()
            created.append(
                ModelVersion.objects.create(
                    model_name=name,
                    version=version,
                    parent=parent,
                    artifact=str(registry.artifact_dir(name, version)),
                    status=VersionStatus.BASE if card.get("parent") is None else VersionStatus.PROMOTED,
                    metrics=card.get("metrics", {}),
                    data_counts=card.get("data", {}),
                    training_seconds=card.get("training", {}).get("seconds"),
                    started_by="artifact on disk",
                )
            )
    return created


@transaction.atomic
def model_version_activate(*, model_name: str, version: int) -> ModelVersion:
    """Make `version` the one new jobs use (promotion and rollback alike)."""
    registry.read_card(registry.check_name(model_name), version)  # the artifact must exist
    model_versions_sync()
    target = ModelVersion.objects.select_for_update().get(model_name=model_name, version=version)
    ModelVersion.objects.filter(model_name=model_name, is_active=True).exclude(pk=target.pk).update(is_active=False)
    target.is_active = True
    target.save(update_fields=["is_active"])
    return target


def writer_key(drawing: Drawing) -> str:
    """Who drew it: the imported writer, else the browser (client id), else the drawing itself."""
    if drawing.writer:
        return f"writer:{drawing.writer}"
    if drawing.client_id:
        return f"client:{drawing.client_id}"
    return f"drawing:{drawing.pk}"


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


def _pixels(drawing: Drawing) -> np.ndarray | None:
    if drawing.processed_image:
        return np.asarray(Image.open(io.BytesIO(bytes(drawing.processed_image))), dtype=np.float32) / 255.0
    try:
        return preprocess(bytes(drawing.image)).pixels
    except InferenceError:
        return None


def website_data_collect(*, holdout_fraction: float, seed: int) -> WebsiteData:
    """Labelled, non-excluded drawings as arrays, split into train and holdout by writer."""
    rows = Drawing.objects.filter(label__isnull=False, excluded_from_training=False).only(
        "id", "image", "processed_image", "label", "writer", "client_id"
    )
    held_out = holdout_writers_assign(
        writer_keys={writer_key(d) for d in rows.only("id", "writer", "client_id")},
        fraction=holdout_fraction,
        seed=seed,
    )
    train: tuple[list[np.ndarray], list[int]] = ([], [])
    holdout: tuple[list[np.ndarray], list[int]] = ([], [])
    writers: dict[bool, set[str]] = {True: set(), False: set()}
    for drawing in rows.iterator(chunk_size=500):
        pixels = _pixels(drawing)
        if pixels is None:
            continue
        key = writer_key(drawing)
        side = key in held_out
        writers[side].add(key)
        target = holdout if side else train
        target[0].append(pixels)
        assert drawing.label is not None  # the query keeps labelled drawings only
        target[1].append(drawing.label)

    def stack(part: tuple[list[np.ndarray], list[int]]) -> tuple[np.ndarray, np.ndarray]:
        if not part[0]:
            return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
        return np.stack(part[0]).astype(np.float32), np.array(part[1], dtype=np.int64)

    train_x, train_y = stack(train)
    holdout_x, holdout_y = stack(holdout)
    return WebsiteData(train_x, train_y, holdout_x, holdout_y, len(writers[False]), len(writers[True]))


def _lock(model_name: str) -> redis.lock.Lock:
    return redis_client().lock(f"inkwell:finetune:{model_name}", timeout=6 * 3600, blocking=False)


def model_version_finetune(*, model_name: str, started_by: str, epochs: int | None = None) -> ModelVersion:
    """Fine-tune the active version on collected drawings; promote the result only if it is better."""
    from training.data import load_mnist
    from training.finetune import FinetuneConfig, LabelledArrays, finetune, promotion_decision
    from webapp.modelversions.selectors import model_version_active

    registry.check_name(model_name)
    lock = _lock(model_name)
    if not lock.acquire():
        raise FinetuneRefused(f"A fine-tune of {model_name} is already running.")
    try:
        data = website_data_collect(holdout_fraction=settings.FINETUNE_HOLDOUT_FRACTION, seed=settings.FINETUNE_SEED)
        minimum = settings.FINETUNE_MIN_DRAWINGS
        if len(data.train_y) < minimum or len(data.holdout_y) < max(10, minimum // 5):
            raise FinetuneRefused(
                f"Too few labelled drawings to fine-tune: {len(data.train_y)} for training and "
                f"{len(data.holdout_y)} held out; need at least {minimum} and {max(10, minimum // 5)}."
            )
        model_versions_sync()
        base = ModelVersion.objects.get(model_name=model_name, version=model_version_active(model_name))
        new_version = max(registry.versions(model_name)) + 1
        record = ModelVersion.objects.create(
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

        def report(step: int, total: int, figures: dict[str, float]) -> None:
            record.progress = {**record.progress, "step": step, "total": total, str(step): figures}
            record.save(update_fields=["progress"])

        config = FinetuneConfig(epochs=epochs or settings.FINETUNE_EPOCHS)
        try:
            result = finetune(
                model_name,
                base_version=base.version,
                new_version=new_version,
                train=LabelledArrays(data.train_x, data.train_y),
                holdout=LabelledArrays(data.holdout_x, data.holdout_y),
                mnist=load_mnist(),
                config=config,
                progress=report,
            )
        except Exception as exc:
            record.status = VersionStatus.FAILED
            record.decision = f"Fine-tuning failed: {exc}"
            record.save(update_fields=["status", "decision"])
            raise
        promote, reason = promotion_decision(result.before, result.after, settings.FINETUNE_MNIST_MARGIN_POINTS)
        record.metrics = result.card["metrics"]
        record.training_seconds = result.card["training"]["seconds"]
        record.progress = {**record.progress, "history": result.history}
        record.status = VersionStatus.PROMOTED if promote else VersionStatus.REJECTED
        record.decision = ("Promoted: " if promote else "Kept the old version: ") + reason
        record.save()
        registry.card_update(model_name, new_version, {"rejected": not promote, "decision": record.decision})
        if promote:
            model_version_activate(model_name=model_name, version=new_version)
            record.refresh_from_db()
        return record
    finally:
        lock.release()


def model_finetune_enqueue(*, model_name: str, started_by: str) -> None:
    """Start a fine-tune on the `training` queue (its own worker), e.g. from the admin."""
    from worker.app import app

    registry.check_name(model_name)
    app.send_task("worker.tasks.model_finetune_task", args=[model_name, started_by], queue="training")
