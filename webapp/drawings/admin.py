"""Staff review of collected drawings: list, review queue, one-key labelling, bulk actions, statistics.

Thin like the API views: reads come from selectors, writes go through services.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import numpy as np
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from PIL import Image, ImageDraw, ImageFont

from inference import registry
from inference.answer import NOT_A_DIGIT
from inference.errors import InferenceError
from inference.images import png_to_data_url, thumbnail_png
from inference.preprocess import ink_from_image, open_image
from inference.strokes import to_png_bytes
from training.calibration import confidence_bins, reliability_svg
from webapp.core.admin_actions import ActionPermissionsMixin
from webapp.drawings.models import LABEL_CHOICES, NUMBER_MAX_DIGITS, Drawing, Kind, LabelSource
from webapp.drawings.selectors import (
    REVIEW_QUEUE_ORDERING,
    confidence_outcomes,
    drawing_statistics,
    review_low_confidence,
    review_queue,
    review_queue_annotate,
    review_queue_next,
)
from webapp.drawings.services import (
    drawing_label,
    drawing_number_label,
    drawings_exclude,
    drawings_label_bulk,
    drawings_prediction_confirm,
    drawings_rerun,
    drawings_user_label_accept,
)

THUMBNAIL_SIZE = 56
DIGITS = range(10)
# What staff may label a digit drawing: a digit, or NOT_A_DIGIT.
LABELS = dict(LABEL_CHOICES)
# The labels as forms send them ("0" ... "10"), so that only these are ever turned into numbers.
LABEL_VALUES = frozenset(str(value) for value in LABELS)


def png_data_url(data: bytes | memoryview | None) -> str | None:
    if not data:
        return None
    return png_to_data_url(data)


def thumbnail_data_url(data: bytes | memoryview | None, size: int = THUMBNAIL_SIZE) -> str | None:
    """A small PNG of a stored drawing, ink on white, made from the original (for drawings whose job
    made none, and for the larger picture of a JPEG)."""
    if not data:
        return None
    try:
        ink = ink_from_image(open_image(bytes(data)))
    except InferenceError:
        return None
    return png_data_url(thumbnail_png(ink, size))


def drawing_image_url(drawing: Drawing) -> str | None:
    """The drawing as a data URL to show large; a number's with the box and answer of each digit."""
    if drawing.kind == Kind.NUMBER and drawing.digits:
        return png_data_url(boxes_png(bytes(drawing.image), drawing.digits))
    if drawing.image_format == "PNG":
        return png_data_url(drawing.image)
    return thumbnail_data_url(drawing.image, 400)


def boxes_png(image: bytes, digits: list[dict[str, Any]]) -> bytes:
    """The drawing with each found digit's box and answer drawn on it."""
    picture = Image.open(io.BytesIO(image)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=max(16, picture.height // 12))
    for found in digits:
        x, y, w, h = found["box"]
        draw.rectangle((x, y, x + w, y + h), outline=(220, 40, 40), width=max(2, picture.height // 150))
        draw.text((x + 2, y + 2), str(found["digit"]), fill=(220, 40, 40), font=font, anchor="lt")
    return to_png_bytes(picture)


class DrawingActionForm(ActionForm):
    """The action bar, with the label and the model that some actions need."""

    label = forms.ChoiceField(choices=[("", "label…"), *((str(v), name) for v, name in LABELS.items())], required=False)
    model = forms.ChoiceField(choices=[("", "model…"), *((m, m) for m in registry.MODEL_NAMES)], required=False)


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
        return [("queue", "Review queue (unlabelled, least confident first)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> QuerySet[Drawing]:
        return queryset


@admin.register(Drawing)
class DrawingAdmin(ActionPermissionsMixin, admin.ModelAdmin):
    action_form = DrawingActionForm
    actions = (
        "label_set",
        "not_a_digit_mark",
        "prediction_confirm",
        "user_label_accept",
        "training_exclude",
        "training_include",
        "rerun",
    )
    list_display = (
        "drawing_thumbnail",
        "processed_thumbnail",
        "short_id",
        "model_name",
        "model_version",
        "kind",
        "answer",
        "confidence_percent",
        "label_shown",
        "user_label_shown",
        "status",
        "created_at",
        "excluded_from_training",
    )
    list_display_links = ("short_id",)
    list_filter = (
        ReviewOrderFilter,
        "kind",
        "model_name",
        "model_version",
        "status",
        "digit",
        "label",
        LabelledFilter,
        "user_label",
        DisagreementFilter,
        LowConfidenceFilter,
        "excluded_from_training",
        "source",
        "label_source",
        "created_at",
    )
    list_per_page = 50
    search_fields = ("id", "external_id", "writer")
    search_help_text = "A drawing id (or its first characters), an external id or a writer."
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("review_link", "drawing_large", "processed_large", "probability_bars", "number_digits")}),
        (
            "Answer",
            {
                "fields": (
                    "kind",
                    "model_name",
                    "model_version",
                    "status",
                    "digit",
                    "number",
                    "confidence",
                    "not_a_digit_voters",
                    "error_code",
                    "error_message",
                )
            },
        ),
        (
            "Label",
            {
                "fields": (
                    "label",
                    "label_source",
                    "labelled_at",
                    "user_label",
                    "number_label",
                    "user_number_label",
                    "user_labelled_at",
                    "excluded_from_training",
                )
            },
        ),
        (
            "Origin",
            {
                "fields": (
                    "id",
                    "created_at",
                    "source",
                    "writer",
                    "external_id",
                    "client_id",
                    "user_agent",
                    "canvas_width",
                    "canvas_height",
                )
            },
        ),
        (
            "Timings",
            {
                "fields": (
                    "attempts",
                    "enqueued_at",
                    "started_at",
                    "finished_at",
                    "queue_ms",
                    "preprocess_ms",
                    "inference_ms",
                    "total_ms",
                )
            },
        ),
    )

    # Drawings come from the page, the API and imports; labels change through review and actions.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Drawing | None = None) -> list[str]:
        return [str(name) for _, options in self.fieldsets for name in options["fields"]]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Drawing]:
        # Lists show the thumbnail made with the job: the originals (up to 2 MB each) stay in the database.
        queryset = review_queue_annotate(self.model._default_manager.get_queryset().defer("image", "strokes"))
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def get_ordering(self, request: HttpRequest) -> Any:
        if request.GET.get(ReviewOrderFilter.parameter_name) == "queue":
            return REVIEW_QUEUE_ORDERING
        return super().get_ordering(request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Drawing], search_term: str
    ) -> tuple[QuerySet[Drawing], bool]:
        """Ids match from their start (as the list shows them); other fields as usual."""
        term = search_term.strip()
        if not term:
            return queryset, False
        others = queryset.filter(Q(external_id__icontains=term) | Q(writer__icontains=term))
        try:
            by_id = queryset.filter(pk=uuid.UUID(term))
        except ValueError:
            hex_prefix = term.replace("-", "").lower()
            if not hex_prefix or any(c not in "0123456789abcdef" for c in hex_prefix):
                return others, False
            by_id = queryset.filter(pk__istartswith=term)
        return by_id | others, False

    # Columns and read-only fields.

    @admin.display(description="drawing")
    def drawing_thumbnail(self, obj: Drawing) -> str:
        url = png_data_url(obj.thumbnail) if obj.thumbnail else thumbnail_data_url(obj.image)
        return self._image_link(obj, url, "")

    @admin.display(description="28x28")
    def processed_thumbnail(self, obj: Drawing) -> str:
        return self._image_link(obj, png_data_url(obj.processed_image), "image-rendering: pixelated")

    def _image_link(self, obj: Drawing, url: str | None, style: str) -> str:
        if url is None:
            return "—"
        return format_html(
            '<a href="{}" title="Review">'
            '<img src="{}" width="{}" height="{}" alt="" style="border:1px solid #ccc;{}"></a>',
            reverse("admin:drawings_drawing_review", args=[obj.pk]),
            url,
            THUMBNAIL_SIZE,
            THUMBNAIL_SIZE,
            style,
        )

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: Drawing) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, obj: Drawing) -> str:
        return "—" if obj.confidence is None else f"{obj.confidence:.1%}"

    @admin.display(description="review")
    def review_link(self, obj: Drawing) -> str:
        return format_html(
            '<a href="{}">Review and label this drawing</a>', reverse("admin:drawings_drawing_review", args=[obj.pk])
        )

    @admin.display(description="answer")
    def answer(self, obj: Drawing) -> str:
        """The digit, or a number's digits."""
        if obj.kind == Kind.NUMBER:
            return obj.number or "—"
        if obj.not_a_digit:
            return "not a digit"
        return "—" if obj.digit is None else str(obj.digit)

    @admin.display(description="label")
    def label_shown(self, obj: Drawing) -> str:
        if obj.kind == Kind.NUMBER:
            return obj.number_label or "—"
        return "—" if obj.label is None else LABELS[obj.label]

    @admin.display(description="user label")
    def user_label_shown(self, obj: Drawing) -> str:
        if obj.kind == Kind.NUMBER:
            return obj.user_number_label or "—"
        return "—" if obj.user_label is None else LABELS[obj.user_label]

    @admin.display(description="digits found")
    def number_digits(self, obj: Drawing) -> str:
        """A number's digits as the worker found them: each box, the 28x28 the model saw, its answer."""
        if obj.kind != Kind.NUMBER or not obj.digits:
            return "—"
        return format_html_join(
            " ",
            '<span style="display:inline-block;text-align:center"><img src="{}" width="56" alt=""'
            ' style="image-rendering:pixelated"><br>{} ({}%)<br><small>box {}</small></span>',
            (
                (d["processed_image"], d["digit"], round(100 * d["confidence"]), ", ".join(map(str, d["box"])))
                for d in obj.digits
            ),
        )

    @admin.display(description="drawing")
    def drawing_large(self, obj: Drawing) -> str:
        url = drawing_image_url(obj)
        return format_html('<img src="{}" width="280" alt="" style="border:1px solid #ccc">', url) if url else "—"

    @admin.display(description="processed (28x28)")
    def processed_large(self, obj: Drawing) -> str:
        url = png_data_url(obj.processed_image)
        return format_html('<img src="{}" width="140" alt="" style="image-rendering:pixelated">', url) if url else "—"

    @admin.display(description="probabilities")
    def probability_bars(self, obj: Drawing) -> str:
        return _probability_table(obj)

    # Bulk actions.

    @admin.action(description="Set the label chosen beside the action", permissions=["change"])
    def label_set(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        label = _action_value(request, "label")
        if label not in LABEL_VALUES:
            self.message_user(request, "Choose a label (0-9, or not a digit) beside the action.", messages.ERROR)
            return
        count = drawings_label_bulk(drawings=queryset, label=int(label), source=LabelSource.STAFF)
        self.message_user(request, f"Labelled {count} drawings as {LABELS[int(label)]}.", messages.SUCCESS)

    @admin.action(description="Mark as not a digit (a negative for fine-tuning)", permissions=["change"])
    def not_a_digit_mark(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        count = drawings_label_bulk(drawings=queryset, label=NOT_A_DIGIT, source=LabelSource.STAFF)
        self.message_user(request, f"Marked {count} drawings as not a digit.", messages.SUCCESS)

    @admin.action(description="Confirm the prediction as the label", permissions=["change"])
    def prediction_confirm(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        selected = queryset.count()
        count = drawings_prediction_confirm(drawings=queryset, source=LabelSource.STAFF)
        skipped = f" ({selected - count} without a prediction left as they were)" if selected > count else ""
        self.message_user(request, f"Labelled {count} drawings with their prediction{skipped}.", messages.SUCCESS)

    @admin.action(description="Accept what the drawer said as the label", permissions=["change"])
    def user_label_accept(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        selected = queryset.count()
        count = drawings_user_label_accept(drawings=queryset, source=LabelSource.STAFF)
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

    # Review pages and statistics.

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
            "probabilities": _probabilities(drawing),
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


def _action_value(request: HttpRequest, name: str) -> str | None:
    """A field of the action bar the action was sent from (the list may show the bar twice)."""
    values = request.POST.getlist(name)
    try:
        index = int(request.POST.get("index", 0))
    except ValueError:
        index = 0
    return values[index] if index < len(values) and values[index] != "" else None


def _probabilities(drawing: Drawing) -> list[dict[str, Any]]:
    if not drawing.probabilities:
        return []
    rows = [
        {"digit": digit, "percent": round(100 * p, 1), "predicted": digit == drawing.digit}
        for digit, p in enumerate(drawing.probabilities)
    ]
    if drawing.not_a_digit_probability is not None:
        percent = round(100 * drawing.not_a_digit_probability, 1)
        rows.append({"digit": "not a digit", "percent": percent, "predicted": drawing.not_a_digit})
    return rows


def _probability_table(drawing: Drawing) -> str:
    rows = _probabilities(drawing)
    if not rows:
        return "—"
    return format_html(
        "<table>{}</table>",
        format_html_join(
            "",
            '<tr><td>{}</td><td style="width:200px"><div style="background:{};height:10px;width:{}%"></div>'
            "</td><td>{}%</td></tr>",
            ((row["digit"], "#417690" if row["predicted"] else "#999", row["percent"], row["percent"]) for row in rows),
        ),
    )
