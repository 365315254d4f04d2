"""`python manage.py finetune_report [--plot docs/img/finetune.svg]`: the latest fine-tune of each model,
as a markdown table, and a plot of holdout accuracy per fine-tuning step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from webapp.modelversions.models import ModelVersion
from webapp.modelversions.plot import accuracy_plot_svg


class Command(BaseCommand):
    help = "Report the latest fine-tune of each model (before/after accuracy) and plot its steps."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--plot", type=Path, help="write an SVG plot of accuracy per step here")

    def handle(self, *args: Any, **options: Any) -> None:
        latest: dict[str, ModelVersion] = {}
        for record in ModelVersion.objects.filter(parent__isnull=False).order_by("model_name", "-version"):
            latest.setdefault(record.model_name, record)
        self.stdout.write(
            "| model | version | held-out writers before | after | MNIST test before | after | decision |\n"
            "|---|---|---|---|---|---|---|"
        )
        for name, record in latest.items():
            assert record.parent is not None
            m = record.metrics
            self.stdout.write(
                f"| {name} | v{record.parent.version} -> v{record.version} | "
                f"{m['parent_holdout_accuracy']:.2%} | {m['holdout_accuracy']:.2%} | "
                f"{m['parent_mnist_test_accuracy']:.2%} | {m['mnist_test_accuracy']:.2%} | {record.decision} |"
            )
        if options["plot"]:
            series = {name: record.progress.get("history", []) for name, record in latest.items()}
            options["plot"].parent.mkdir(parents=True, exist_ok=True)
            options["plot"].write_text(accuracy_plot_svg(series))
            self.stdout.write(f"Plot written to {options['plot']}")
