"""Reads: drawings, the models on offer, the state of the service."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from inference import registry
from webapp.drawings.errors import DrawingNotFound
from webapp.drawings.models import Drawing
from webapp.drawings.notifications import FinishWaiter


def drawing_get(*, drawing_id: str | uuid.UUID) -> Drawing:
    """The drawing, or DrawingNotFound."""
    try:
        drawing_id = uuid.UUID(str(drawing_id))
    except ValueError as exc:
        raise DrawingNotFound(drawing_id) from exc
    drawing = Drawing.objects.filter(pk=drawing_id).first()
    if drawing is None:
        raise DrawingNotFound(drawing_id)
    return drawing


def drawing_get_when_finished(*, drawing_id: str | uuid.UUID, wait_seconds: float) -> Drawing:
    """Long poll: the drawing as soon as it is finished, or as it stands after `wait_seconds`."""
    drawing = drawing_get(drawing_id=drawing_id)
    if drawing.is_finished or wait_seconds <= 0:
        return drawing
    try:
        waiter = FinishWaiter(str(drawing.pk))
    except Exception:  # Redis is down: answer with what the database says now
        return drawing
    with waiter:
        drawing = drawing_get(drawing_id=drawing_id)  # it may have finished before we subscribed
        if not drawing.is_finished and waiter.wait(wait_seconds):
            drawing = drawing_get(drawing_id=drawing_id)
    return drawing


def model_version_active(name: str) -> int:
    """The version of a model that new jobs use."""
    return registry.latest_version(name)


def model_list() -> list[dict[str, Any]]:
    """Each model's public description and figures, from its active version's card."""
    models = []
    for name in registry.MODEL_NAMES:
        card = registry.read_card(name, model_version_active(name))
        metrics = card.get("metrics", {})
        models.append(
            {
                "name": name,
                "title": card["title"],
                "framework": card["framework"],
                "version": card["version"],
                "parameters": card["parameters"],
                "mnist_accuracy": metrics.get("mnist_test_accuracy"),
                "website_accuracy": metrics.get("hwd1000_accuracy"),
                "description": card["description"],
                "default": name == registry.DEFAULT_MODEL,
            }
        )
    return models


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False
