"""Bulk actions on selected drawings: label, confirm the prediction or the drawer's answer, exclude, re-run."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import QuerySet
from django.http import HttpRequest

from inference import registry
from inference.answer import NOT_A_DIGIT
from inference.errors import InferenceError
from webapp.drawings.models import LABEL_CHOICES, Drawing, LabelSource
from webapp.drawings.services.creation import drawings_rerun
from webapp.drawings.services.labels import (
    drawings_exclude,
    drawings_label_bulk,
    drawings_prediction_confirm,
    drawings_user_label_accept,
)

# What staff may label a digit drawing: a digit, or NOT_A_DIGIT.
LABELS = dict(LABEL_CHOICES)
# The labels as forms send them ("0" ... "10"), so that only these are ever turned into numbers.
LABEL_VALUES = frozenset(str(value) for value in LABELS)


class DrawingActionForm(ActionForm):
    """The action bar, with the label and the model that some actions need."""

    label = forms.ChoiceField(choices=[("", "label…"), *((str(v), name) for v, name in LABELS.items())], required=False)
    model = forms.ChoiceField(choices=[("", "model…"), *((m, m) for m in registry.MODEL_NAMES)], required=False)


class DrawingActionsMixin(admin.ModelAdmin):
    """The bulk actions; each needs "Can change drawing"."""

    def _labels_log(self, request: HttpRequest, drawing_ids: list[uuid.UUID], message: str) -> None:
        """One admin history entry per drawing labelled, under the reviewer (in one INSERT)."""
        assert request.user.pk is not None, "admin actions run for signed-in staff only"
        drawings = Drawing.objects.filter(pk__in=drawing_ids).only("pk", "model_name", "status")
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=list(drawings), action_flag=CHANGE, change_message=message
        )

    @admin.action(description="Set the label chosen beside the action", permissions=["change"])
    def label_set(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        label = _action_value(request, "label")
        if label not in LABEL_VALUES:
            self.message_user(request, "Choose a label (0-9, or not a digit) beside the action.", messages.ERROR)
            return
        labelled = drawings_label_bulk(drawings=queryset, label=int(label), source=LabelSource.STAFF)
        self._labels_log(request, labelled, f"Labelled {LABELS[int(label)]} with the drawing list's action.")
        self.message_user(request, f"Labelled {len(labelled)} drawings as {LABELS[int(label)]}.", messages.SUCCESS)

    @admin.action(description="Mark as not a digit (a negative for fine-tuning)", permissions=["change"])
    def not_a_digit_mark(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        labelled = drawings_label_bulk(drawings=queryset, label=NOT_A_DIGIT, source=LabelSource.STAFF)
        self._labels_log(request, labelled, "Labelled not a digit with the drawing list's action.")
        self.message_user(request, f"Marked {len(labelled)} drawings as not a digit.", messages.SUCCESS)

    @admin.action(description="Confirm the prediction as the label", permissions=["change"])
    def prediction_confirm(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        selected = queryset.count()
        labelled = drawings_prediction_confirm(drawings=queryset, source=LabelSource.STAFF)
        self._labels_log(request, labelled, "Labelled with the model's answer (the drawing list's action).")
        count = len(labelled)
        skipped = f" ({selected - count} without a prediction left as they were)" if selected > count else ""
        self.message_user(request, f"Labelled {count} drawings with their prediction{skipped}.", messages.SUCCESS)

    @admin.action(description="Accept what the drawer said as the label", permissions=["change"])
    def user_label_accept(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        selected = queryset.count()
        labelled = drawings_user_label_accept(drawings=queryset, source=LabelSource.STAFF)
        self._labels_log(request, labelled, "Labelled with the drawer's answer (the drawing list's action).")
        count = len(labelled)
        skipped = f" ({selected - count} without the drawer's answer left as they were)" if selected > count else ""
        self.message_user(request, f"Labelled {count} drawings with the drawer's answer{skipped}.", messages.SUCCESS)

    @admin.action(description="Exclude from training", permissions=["change"])
    def training_exclude(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        count = drawings_exclude(drawings=queryset, excluded=True)
        self.message_user(request, f"Excluded {count} drawings from training.", messages.SUCCESS)

    @admin.action(description="Include in training", permissions=["change"])
    def training_include(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        count = drawings_exclude(drawings=queryset, excluded=False)
        self.message_user(request, f"Included {count} drawings in training.", messages.SUCCESS)

    @admin.action(description="Re-run with the model chosen beside the action", permissions=["change"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        model_name = _action_value(request, "model")
        if model_name not in registry.MODEL_NAMES:
            self.message_user(request, "Choose a model beside the action.", messages.ERROR)
            return
        try:
            created = drawings_rerun(drawings=queryset, model_name=model_name)
        except InferenceError as exc:
            self.message_user(request, f"Nothing was re-run: {exc}", messages.ERROR)
            return
        self.message_user(
            request, f"Queued {len(created)} drawings again with {model_name} (as new drawings).", messages.SUCCESS
        )


def _action_value(request: HttpRequest, name: str) -> str | None:
    """A field of the action bar the action was sent from (the list may show the bar twice)."""
    values = request.POST.getlist(name)
    try:
        index = int(request.POST.get("index", 0))
    except ValueError:
        index = 0
    return values[index] if index < len(values) and values[index] != "" else None
