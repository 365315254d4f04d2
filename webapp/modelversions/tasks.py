"""Celery tasks of the modelversions app (routed to the `training` queue by CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task

from webapp.modelversions.automatic import automatic_finetunes_run
from webapp.modelversions.services import model_version_finetune
from webapp.modelversions.shadow_promotion import shadow_candidates_check


@shared_task(acks_late=False)
def model_finetune_task(model_name: str, started_by: str) -> str:
    """Fine-tune a model on the collected drawings; returns the decision."""
    return model_version_finetune(model_name=model_name, started_by=started_by).decision


@shared_task(acks_late=False)
def models_finetune_automatic_task() -> list[str]:
    """The scheduler's check: fine-tune every model that is due (`automatic.py`); returns the decisions."""
    return automatic_finetunes_run()


@shared_task(acks_late=False)
def models_shadow_check_task() -> list[str]:
    """The scheduler's check of the candidates in the shadow (`shadow_promotion.py`); returns the decisions."""
    return shadow_candidates_check()
