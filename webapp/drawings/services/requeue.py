"""The sweep that sends again jobs stuck queued or running on a worker that died."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from webapp.core import heartbeats
from webapp.drawings.models import Drawing, Status
from webapp.drawings.queue import drawing_enqueue


def _running_orphans(running: list[tuple[Any, str]]) -> list[Any]:
    """The running drawings (id, owner) whose owner stopped beating (no owner recorded: not orphans)."""
    owners = {owner for _, owner in running if owner}
    dead = {owner for owner in owners if not heartbeats.is_alive(kind="process", name=owner)}
    return [pk for pk, owner in running if owner in dead]


def drawings_requeue_stale(*, older_than_seconds: int | None = None) -> int:
    """Enqueue again drawings stuck queued (broker down at submit) or running on a lost worker.

    A running job is taken as soon as the process that claimed it stops beating (seconds after a
    SIGKILL), else once no worker could still be working on it (past the hard time limit).
    """
    seconds = settings.REQUEUE_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    now = timezone.now()
    queued_cutoff = now - timedelta(seconds=seconds)
    running_cutoff = now - timedelta(seconds=max(seconds, settings.TASK_TIME_LIMIT_SECONDS + 10))
    stale = Drawing.objects.annotate(last_sent=Coalesce("enqueued_at", "created_at")).filter(
        Q(status=Status.QUEUED, last_sent__lt=queued_cutoff) | Q(status=Status.RUNNING, started_at__lt=running_cutoff)
    )
    running = Drawing.objects.filter(
        status=Status.RUNNING,
        started_at__gte=running_cutoff,
        started_at__lt=now - timedelta(seconds=heartbeats.TTL_SECONDS),
    )
    stale_ids = list(stale.values_list("id", flat=True)[:1000])
    stale_ids += _running_orphans(list(running.values_list("id", "owner")[:1000]))
    sent = 0
    for drawing_id in stale_ids:
        if drawing_enqueue(drawing_id=str(drawing_id)):
            Drawing.objects.filter(pk=drawing_id).update(enqueued_at=timezone.now())
            sent += 1
    return sent
