"""`python manage.py finetune --model cnn|dense|numpy|all`: fine-tune on collected drawings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inference import registry
from webapp.modelversions.services import FinetuneRefused, model_version_finetune


class Command(BaseCommand):
    help = "Fine-tune models on the labelled drawings; promote a new version only if it is better."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--model", choices=[*registry.MODEL_NAMES, "all"], required=True)
        parser.add_argument("--epochs", type=int, help="override FINETUNE_EPOCHS")

    def handle(self, *args: Any, **options: Any) -> None:
        names = registry.MODEL_NAMES if options["model"] == "all" else [options["model"]]
        for name in names:
            try:
                record = model_version_finetune(
                    model_name=name, started_by="manage.py finetune", epochs=options["epochs"]
                )
            except FinetuneRefused as exc:
                raise CommandError(str(exc)) from exc
            assert record.parent is not None
            metrics = record.metrics
            self.stdout.write(
                f"{name} v{record.version} (from v{record.parent.version}): holdout "
                f"{metrics['parent_holdout_accuracy']:.4f} -> {metrics['holdout_accuracy']:.4f}, MNIST "
                f"{metrics['parent_mnist_test_accuracy']:.4f} -> {metrics['mnist_test_accuracy']:.4f}. "
                f"{record.decision}"
            )
