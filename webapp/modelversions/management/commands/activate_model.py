"""`python manage.py activate_model cnn 1`: make a version the one that serves (rollback)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inference.errors import UnknownModel
from webapp.modelversions.services import model_version_activate


class Command(BaseCommand):
    help = "Activate a model version; workers switch to it within a second, without a restart."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("model")
        parser.add_argument("version", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            record = model_version_activate(model_name=options["model"], version=options["version"])
        except UnknownModel as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{record} now serves new drawings.")
