"""Fine-tuning by itself: the scheduler's periodic check starts a fine-tune of a model when enough new
trusted labels have arrived since its serving version was trained, and not more often than allowed.

The fine-tune is the same one "Fine-tune now" runs (`model_version_finetune`): the same lock, one at a
time per model, and the same gate, promote only if better.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models.functions import Coalesce
from django.utils import timezone

from inference import registry
from webapp.core.redis_connection import redis_client
from webapp.drawings.selectors import training_labelled
from webapp.modelversions.models import ModelVersion, VersionStatus
from webapp.modelversions.selectors import model_version_active
from webapp.modelversions.services import FinetuneRefused, model_version_finetune

logger = logging.getLogger(__name__)

STARTED_BY = "automatic"


@dataclass(frozen=True)
class AutomaticFinetune:
    """Whether a model's automatic fine-tune is due now, and why (or why not), as the admin says it."""

    model_name: str
    due: bool
    reason: str
    new_labels: int
    next_allowed: datetime | None


def attempt_key(model_name: str) -> str:
    """The Redis key of a model's last automatic attempt."""
    return f"inkwell:finetune-auto:{model_name}"


def _last_attempt(model_name: str) -> dict[str, str] | None:
    """The last automatic attempt ({"at", "outcome"}) within FINETUNE_AUTO_MIN_HOURS, kept in Redis."""
    try:
        raw: bytes | None = redis_client().get(attempt_key(model_name))  # type: ignore[assignment]
    except redis.RedisError:
        return None
    return json.loads(raw) if raw else None


def _attempt_record(model_name: str, outcome: str) -> None:
    record = json.dumps({"at": timezone.now().isoformat(), "outcome": outcome})
    seconds = max(1, int(settings.FINETUNE_AUTO_MIN_HOURS * 3600))
    try:
        redis_client().set(attempt_key(model_name), record, ex=seconds)
    except redis.RedisError:
        logger.warning("Could not record the automatic fine-tune of %s", model_name, exc_info=True)


def new_trusted_labels(model_name: str) -> int:
    """Trusted labels that the serving version has not been trained on: those given since its fine-tune
    started, or all of them for a version trained elsewhere (on MNIST, committed in `models/`)."""
    serving = ModelVersion.objects.filter(model_name=model_name, version=model_version_active(model_name)).first()
    labels = training_labelled()
    if serving is None or serving.parent_id is None:
        return labels.count()
    labelled_at = Coalesce("labelled_at", "user_labelled_at", "created_at")
    return labels.annotate(labelled_when=labelled_at).filter(labelled_when__gt=serving.created_at).count()


def automatic_finetune_status(model_name: str) -> AutomaticFinetune:
    """Apply the rules in order: switched off, one already running, too soon after the last, too few labels."""
    minimum = settings.FINETUNE_AUTO_MIN_NEW_LABELS
    if not settings.FINETUNE_AUTO:
        return AutomaticFinetune(model_name, False, "Automatic fine-tuning is off (FINETUNE_AUTO=false).", 0, None)
    running = ModelVersion.objects.filter(model_name=model_name, status=VersionStatus.TRAINING).first()
    if running is not None:
        return AutomaticFinetune(model_name, False, f"A fine-tune is running (v{running.version}).", 0, None)
    wait = timedelta(hours=settings.FINETUNE_AUTO_MIN_HOURS)
    last_started = (
        ModelVersion.objects.filter(model_name=model_name, parent__isnull=False)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    attempt = _last_attempt(model_name)
    if attempt is not None:
        attempted = datetime.fromisoformat(attempt["at"])
        last_started = max(last_started, attempted) if last_started else attempted
    new_labels = new_trusted_labels(model_name)
    if last_started is not None and timezone.now() < last_started + wait:
        next_allowed = last_started + wait
        reason = (
            f"The last fine-tune started at {last_started:%Y-%m-%d %H:%M} UTC; "
            f"the next may start after {next_allowed:%Y-%m-%d %H:%M} UTC."
        )
        if attempt is not None:
            reason += f" Last automatic attempt: {attempt['outcome']}"
        return AutomaticFinetune(model_name, False, reason, new_labels, next_allowed)
    if new_labels < minimum:
        reason = f"{new_labels} of {minimum} new trusted labels since the serving version was trained."
        return AutomaticFinetune(model_name, False, reason, new_labels, None)
    reason = f"{new_labels} new trusted labels since the serving version was trained (at least {minimum})."
    return AutomaticFinetune(model_name, True, reason, new_labels, None)


def automatic_finetunes_run() -> list[str]:
    """Fine-tune, one after the other, every model whose automatic fine-tune is due; the decisions."""
    decisions = []
    # The models this deployment has versions of (a test or a trainer machine may hold only some).
    names = ModelVersion.objects.values_list("model_name", flat=True).distinct().order_by("model_name")
    for model_name in [name for name in names if name in registry.MODEL_NAMES]:
        status = automatic_finetune_status(model_name)
        if not status.due:
            continue
        logger.info("Automatic fine-tune of %s: %s", model_name, status.reason)
        _attempt_record(model_name, f"started ({status.reason})")
        try:
            version = model_version_finetune(model_name=model_name, started_by=STARTED_BY)
        except FinetuneRefused as refused:
            logger.warning("Automatic fine-tune of %s refused: %s", model_name, refused)
            _attempt_record(model_name, f"refused: {refused}")
            continue
        except Exception:  # recorded on the version as failed; the other models still get their turn
            logger.exception("Automatic fine-tune of %s failed", model_name)
            _attempt_record(model_name, "failed (see the version's decision)")
            continue
        _attempt_record(model_name, f"v{version.version}: {version.decision}")
        decisions.append(f"{model_name} v{version.version}: {version.decision}")
    return decisions
