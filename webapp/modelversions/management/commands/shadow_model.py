"""`python manage.py shadow_model cnn 9`: run a version in the shadow of the serving one; `--stop` ends it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from inference.errors import UnknownModel
from webapp.modelversions.services import ShadowRefused, model_version_shadow_set, model_version_shadow_stop


class Command(BaseCommand):
    help = "Put a model version in shadow: workers run it on live drawings, store its answers apart, show none."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("model")
        parser.add_argument("version", type=int, nargs="?")
        parser.add_argument("--stop", action="store_true", help="take the model's shadow version out")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["stop"]:
                stopped = model_version_shadow_stop(model_name=options["model"])
                self.stdout.write(f"{options['model']}: {'shadow stopped' if stopped else 'no version was in shadow'}.")
                return
            if options["version"] is None:
                raise CommandError("Give the version to put in shadow, or --stop.")
            record = model_version_shadow_set(model_name=options["model"], version=options["version"])
        except UnknownModel as exc:
            raise CommandError(exc.message) from exc
        except ShadowRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{record} answers in the shadow of the serving version (SHADOW_SHARE of the drawings).")
