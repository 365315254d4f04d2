"""`manage.py find_label_issues`: mark the trusted labels that are likely wrong (the scheduler does it hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webapp.drawings.services.label_issues import label_issues_find


class Command(BaseCommand):
    help = (
        "Run confident learning (cleanlab) over every trusted digit label not confirmed by a reviewer, with "
        "the probabilities each drawing got when it was answered, and mark the likely wrong ones (the admin's "
        '"Likely mislabelled" filter and the grid review of suspected labels). Labels are never changed.'
    )

    def handle(self, *args: Any, **options: Any) -> None:
        found = label_issues_find()
        self.stdout.write(
            f"{found.suspected} of {found.checked} trusted labels are likely wrong"
            f" ({found.cleared} no longer suspected)."
        )
