"""`python manage.py sync_models`: register and store the artifacts in MODEL_DIR that the database lacks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webapp.modelversions.models import ModelArtifact
from webapp.modelversions.services import model_versions_sync


class Command(BaseCommand):
    help = (
        "Register every artifact in MODEL_DIR (the committed models/ by default) that has no version row, "
        "and store the files of each finished version in the database, where workers on any machine fetch them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        created = model_versions_sync()
        if options["verbosity"] == 0:
            return
        for record in created:
            self.stdout.write(f"Registered {record.model_name} v{record.version} ({record.status}).")
        self.stdout.write(f"{ModelArtifact.objects.count()} model versions stored in the database.")
