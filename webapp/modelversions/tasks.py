"""Celery tasks of the modelversions app (routed to the `training` queue by CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task

from webapp.modelversions.services import model_version_finetune


@shared_task(acks_late=False)
def model_finetune_task(model_name: str, started_by: str) -> str:
    """Fine-tune a model on the collected drawings; returns the decision."""
    return model_version_finetune(model_name=model_name, started_by=started_by).decision
