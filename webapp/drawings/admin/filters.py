"""The drawing list's filters: labelled, label against prediction, low confidence, review order, labels
likely wrong."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest

from webapp.drawings.models import Drawing
from webapp.drawings.selectors import (
    review_low_confidence,
)


class LabelledFilter(admin.SimpleListFilter):
    title = "labelled"
    parameter_name = "labelled"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Labelled"), ("no", "Not labelled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
        if self.value() in ("yes", "no"):
            return queryset.filter(label__isnull=self.value() == "no")
        return queryset


class DisagreementFilter(admin.SimpleListFilter):
    title = "label vs prediction"
    parameter_name = "disagreement"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Label differs from prediction"), ("no", "Label matches prediction")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
        answered = queryset.filter(label__isnull=False, digit__isnull=False)
        if self.value() == "yes":
            return answered.filter(~Q(label=F("digit")))
        if self.value() == "no":
            return answered.filter(label=F("digit"))
        return queryset


class LowConfidenceFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "low_confidence"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        threshold = review_low_confidence()
        return [("yes", f"Below {threshold:.0%}"), ("no", f"{threshold:.0%} or more")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
        if self.value() == "yes":
            return queryset.filter(confidence__lt=review_low_confidence())
        if self.value() == "no":
            return queryset.filter(confidence__gte=review_low_confidence())
        return queryset


class ReviewOrderFilter(admin.SimpleListFilter):
    """Sorts the list as the review queue (see `DrawingAdmin.get_ordering`); filters nothing."""

    title = "order"
    parameter_name = "order"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("queue", "Review queue (unlabelled, most to learn from first)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
        return queryset


class SuspectedLabelFilter(admin.SimpleListFilter):
    """Trusted labels that confident learning finds likely wrong (services.label_issues)."""

    title = "label check"
    parameter_name = "suspected"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Likely mislabelled"), ("confirmed", "Confirmed by a reviewer")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
        if self.value() == "yes":
            return queryset.filter(suspected_label__isnull=False)
        if self.value() == "confirmed":
            return queryset.filter(label_confirmed_at__isnull=False)
        return queryset
