"""The drawing list and its detail page; the actions and the review pages come from their mixins."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from webapp.core.admin_actions import ActionPermissionsMixin
from webapp.drawings.admin.actions import LABELS, DrawingActionForm, DrawingActionsMixin
from webapp.drawings.admin.filters import (
    DisagreementFilter,
    LabelledFilter,
    LowConfidenceFilter,
    ReviewOrderFilter,
    SuspectedLabelFilter,
)
from webapp.drawings.admin.grid import DrawingGridReviewMixin
from webapp.drawings.admin.images import (
    THUMBNAIL_SIZE,
    drawing_image_url,
    png_data_url,
    probability_table,
    thumbnail_data_url,
)
from webapp.drawings.admin.views import DrawingViewsMixin
from webapp.drawings.drift import drift_warnings_show
from webapp.drawings.models import Drawing, Kind
from webapp.drawings.selectors import (
    REVIEW_QUEUE_ORDERING,
    review_queue_annotate,
    suspected_label_count,
)


@admin.register(Drawing)
class DrawingAdmin(
    ActionPermissionsMixin, DrawingActionsMixin, DrawingViewsMixin, DrawingGridReviewMixin, admin.ModelAdmin
):
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
        SuspectedLabelFilter,
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
                    "suspected_label",
                    "label_confirmed_at",
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

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The list, with how many labels are suspected wrong beside the review links and drift warnings."""
        if request.method == "GET":
            drift_warnings_show(request)
        context = {"suspected_labels": suspected_label_count(), **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

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
        if obj.label is None:
            return "—"
        if obj.suspected_label is not None:  # confident learning thinks the label is wrong
            return f"{LABELS[obj.label]} (likely {LABELS[obj.suspected_label]})"
        return LABELS[obj.label]

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
        return probability_table(obj)
