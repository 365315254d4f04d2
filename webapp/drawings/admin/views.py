"""The review pages (one drawing at a time, in the review queue's order) and the statistics page."""

from __future__ import annotations

import uuid

import numpy as np
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from inference.answer import NOT_A_DIGIT
from training.calibration import confidence_bins, reliability_svg
from webapp.drawings.admin.actions import LABEL_VALUES, LABELS
from webapp.drawings.admin.images import drawing_image_url, png_data_url, probabilities
from webapp.drawings.models import NUMBER_MAX_DIGITS, Drawing, Kind, LabelSource
from webapp.drawings.selectors import (
    confidence_outcomes,
    drawing_statistics,
    review_queue,
    review_queue_next,
)
from webapp.drawings.services.labels import (
    drawing_label,
    drawing_number_label,
)

DIGITS = range(10)


class DrawingViewsMixin(admin.ModelAdmin):
    """The review and statistics pages, under the drawing list's URL."""

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("review/", wrap(self.review_start_view), name="drawings_drawing_review_start"),
            path("review/<uuid:pk>/", wrap(self.review_view), name="drawings_drawing_review"),
            path("review/<uuid:pk>/label/", wrap(require_POST(self.label_view)), name="drawings_drawing_label"),
            path("statistics/", wrap(self.statistics_view), name="drawings_drawing_statistics"),
            *super().get_urls(),
        ]

    def review_start_view(self, request: HttpRequest) -> HttpResponse:
        """The first drawing of the review queue."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        first = review_queue().first()
        if first is None:
            self.message_user(request, "There are no drawings to review.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:drawings_drawing_changelist"))
        return HttpResponseRedirect(reverse("admin:drawings_drawing_review", args=[first.pk]))

    def review_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        """The drawing large, the processed image, the probabilities and the label buttons."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        drawing = get_object_or_404(Drawing, pk=pk)
        following = review_queue_next(drawing=drawing)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Review drawing {str(drawing.pk)[:8]}",
            "drawing": drawing,
            "drawing_url": drawing_image_url(drawing),
            "processed_url": png_data_url(drawing.processed_image),
            "saliency_url": png_data_url(drawing.saliency),
            "probabilities": probabilities(drawing),
            "digits": DIGITS,
            "not_a_digit": NOT_A_DIGIT,
            "is_number": drawing.kind == Kind.NUMBER,
            "number_max_digits": NUMBER_MAX_DIGITS,
            "can_label": self.has_change_permission(request, drawing),
            "next_url": reverse("admin:drawings_drawing_review", args=[following.pk]) if following else None,
            "unlabelled": Drawing.objects.filter(label__isnull=True, number_label="").count(),
        }
        return TemplateResponse(request, "admin/drawings/drawing/review.html", context)

    def label_view(self, request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
        """Label one drawing as staff, then show the next drawing in the review queue."""
        drawing = get_object_or_404(Drawing, pk=pk)
        if not self.has_change_permission(request, drawing):
            raise PermissionDenied
        if drawing.kind == Kind.NUMBER:
            return self._number_label(request, drawing)
        label = request.POST.get("label", "")
        if label not in LABEL_VALUES:
            self.message_user(request, "A label is a digit from 0 to 9, or not a digit.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:drawings_drawing_review", args=[pk]))
        following = review_queue_next(drawing=drawing)
        drawing_label(drawing=drawing, label=int(label), source=LabelSource.STAFF)
        self.log_change(request, drawing, f"Labelled {LABELS[int(label)]} on the review page.")
        self.message_user(request, f"Drawing {str(pk)[:8]} labelled {LABELS[int(label)]}.", messages.SUCCESS)
        if following is None:
            self.message_user(request, "That was the last drawing in the review queue.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:drawings_drawing_changelist"))
        return HttpResponseRedirect(reverse("admin:drawings_drawing_review", args=[following.pk]))

    def _number_label(self, request: HttpRequest, drawing: Drawing) -> HttpResponse:
        """Label a number drawing with the whole number, then show the next drawing in the queue."""
        following = review_queue_next(drawing=drawing)
        try:
            drawing_number_label(drawing=drawing, number=request.POST.get("number", "").strip())
            self.log_change(request, drawing, f"Labelled the number {drawing.number_label} on the review page.")
        except ValueError:
            message = f"A number label is 1 to {NUMBER_MAX_DIGITS} digits."
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:drawings_drawing_review", args=[drawing.pk]))
        self.message_user(request, f"Drawing {str(drawing.pk)[:8]} labelled {drawing.number_label}.", messages.SUCCESS)
        if following is None:
            return HttpResponseRedirect(reverse("admin:drawings_drawing_changelist"))
        return HttpResponseRedirect(reverse("admin:drawings_drawing_review", args=[following.pk]))

    def statistics_view(self, request: HttpRequest) -> HttpResponse:
        """Per model and version: accuracy on labelled drawings, confusion matrix, drawings per day."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        statistics = drawing_statistics()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Drawing statistics",
            "statistics": [
                {
                    "stats": stats,
                    "rows": [(label, LABELS[label], row) for label, row in enumerate(stats.confusion)],
                    "busiest_day": max((n for _, n in stats.per_day), default=0),
                    "reliability_svg": _reliability_svg(stats.model_name, stats.model_version),
                }
                for stats in statistics
            ],
            "classes": LABELS.values(),
        }
        return TemplateResponse(request, "admin/drawings/drawing/statistics.html", context)


def _reliability_svg(model_name: str, model_version: int | None) -> str | None:
    """The reliability diagram of a version on its labelled drawings (inline SVG), None without any."""
    confidence, correct = confidence_outcomes(model_name=model_name, model_version=model_version)
    if not confidence:
        return None
    title = f"{model_name} v{model_version}: {len(confidence)} labelled drawings"
    svg = reliability_svg({"stored confidence": confidence_bins(np.array(confidence), np.array(correct))}, title)
    return mark_safe(svg)  # noqa: S308 - numbers and an escaped title
