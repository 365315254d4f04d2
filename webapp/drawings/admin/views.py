"""The review pages (one drawing at a time, in the review queue's order) and the statistics page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from inference.answer import NOT_A_DIGIT
from training.calibration import confidence_bins, reliability_svg
from webapp.drawings.admin.actions import LABEL_VALUES, LABELS
from webapp.drawings.admin.charts import answer_shares_svg, line_chart_svg
from webapp.drawings.admin.images import drawing_image_url, png_data_url, probabilities
from webapp.drawings.daily_figures import DayFigures, daily_figures
from webapp.drawings.drift import drift_warnings_show
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
# Days the statistics page charts, up to today (UTC).
STATISTICS_DAYS = 30


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
        """Per model, the last STATISTICS_DAYS days as charts (one line per version); per model version,
        accuracy on labelled drawings, confusion matrix and reliability. Drift warnings on top."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        drift_warnings_show(request)
        statistics = drawing_statistics()
        days = [timezone.now().date() - timedelta(days=back) for back in range(STATISTICS_DAYS - 1, -1, -1)]
        figures = daily_figures(days=STATISTICS_DAYS)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Drawing statistics",
            "daily": [
                {"model_name": name, "charts": daily_charts(name, [f for f in figures if f.model_name == name], days)}
                for name in sorted({f.model_name for f in figures})
            ],
            "statistics_days": STATISTICS_DAYS,
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


def daily_charts(model_name: str, figures: list[DayFigures], days: list[date]) -> list[str]:
    """One model's per-day charts (inline SVG), one line per version: drawings answered, share refused as
    "not a digit", mean confidence, the committee's agreement, p50 and p95 latency, labelled accuracy
    (where there are labels), and the share of each answer per version over the days."""
    versions = sorted({f.model_version or 0 for f in figures})

    def series(value: Callable[[DayFigures], float | None], suffix: str = "") -> dict[str, list[tuple[date, float]]]:
        lines = {}
        for version in versions:
            points = [(f.day, value(f)) for f in figures if (f.model_version or 0) == version]
            kept = [(day, float(v)) for day, v in points if v is not None]
            if kept:
                lines[f"v{version}{suffix}"] = kept
        return lines

    def percent(value: float) -> str:
        return f"{value:.0%}" if value in (0.0, 1.0) else f"{value:.1%}"

    def chart(title: str, lines: dict[str, list[tuple[date, float]]], **scale: Any) -> str | None:
        return mark_safe(line_chart_svg(title, lines, days=days, **scale)) if lines else None  # noqa: S308 - escaped

    latency = {**series(lambda f: f.p50_ms, " p50"), **series(lambda f: f.p95_ms, " p95")}
    charts = [
        chart(f"{model_name}: drawings answered per day", series(lambda f: f.answered), low=0.0),
        chart('Share answered "not a digit"', series(lambda f: f.refused_share), low=0.0, high=0.1, value_text=percent),
        chart("Mean confidence", series(lambda f: f.mean_confidence), high=1.0, value_text=percent),
        chart(
            "Committee agreement (share of members)", series(lambda f: f.mean_agreement), high=1.0, value_text=percent
        ),
        chart("Submit to answer, ms (p50, p95)", latency, low=0.0, value_text=lambda v: f"{v:.0f}"),
        chart("Accuracy on labelled drawings", series(lambda f: f.accuracy), high=1.0, value_text=percent),
    ]
    shares = {}
    for version in versions:
        answers = [f.answers for f in figures if (f.model_version or 0) == version]
        shares[f"v{version}"] = [sum(column) for column in zip(*answers, strict=True)]
    if shares:
        bars = answer_shares_svg("Answers per class over the days", shares, list(LABELS.values()))
        charts.append(mark_safe(bars))  # noqa: S308 - numbers and escaped names
    return [svg for svg in charts if svg is not None]


def _reliability_svg(model_name: str, model_version: int | None) -> str | None:
    """The reliability diagram of a version on its labelled drawings (inline SVG), None without any."""
    confidence, correct = confidence_outcomes(model_name=model_name, model_version=model_version)
    if not confidence:
        return None
    title = f"{model_name} v{model_version}: {len(confidence)} labelled drawings"
    svg = reliability_svg({"stored confidence": confidence_bins(np.array(confidence), np.array(correct))}, title)
    return mark_safe(svg)  # noqa: S308 - numbers and an escaped title
