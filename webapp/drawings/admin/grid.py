"""The grid review: a page of drawings grouped by the models' answers, labelled all at once with one key,
the reviewer typing only the exceptions."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from inference.answer import NOT_A_DIGIT
from webapp.drawings.admin.actions import LABEL_VALUES, LABELS
from webapp.drawings.admin.images import png_data_url
from webapp.drawings.models import Drawing, LabelSource
from webapp.drawings.selectors import review_grid, suspected_labels
from webapp.drawings.services.label_issues import suspected_labels_confirm
from webapp.drawings.services.labels import drawings_label_each

# The grid of suspected labels (`?suspected=1`), and its form's field that says so.
SUSPECTED_PARAMETER = "suspected"
# A page posts one field per drawing, "label-<drawing id>", whose value is a label as LABEL_VALUES has it.
LABEL_FIELD_PREFIX = "label-"


class DrawingGridReviewMixin(admin.ModelAdmin):
    """The grid review page and its POST, under the drawing list's URL."""

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("review/grid/", wrap(self.review_grid_view), name="drawings_drawing_review_grid"),
            path(
                "review/grid/label/",
                wrap(require_POST(self.review_grid_label_view)),
                name="drawings_drawing_review_grid_label",
            ),
            *super().get_urls(),
        ]

    def review_grid_view(self, request: HttpRequest) -> HttpResponse:
        """A page of unlabelled drawings, one group per answer, each with its 28x28 image and confidence;
        with `?suspected=1`, a page of labels likely wrong, one group per label, to confirm or correct."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        suspected = request.GET.get(SUSPECTED_PARAMETER) == "1"
        drawings = suspected_labels() if suspected else review_grid()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Grid review of labels likely wrong" if suspected else "Grid review",
            "suspected": suspected,
            "groups": _groups(drawings, suspected=suspected),
            "count": len(drawings),
            "can_label": self.has_change_permission(request),
            "label_field_prefix": LABEL_FIELD_PREFIX,
            "not_a_digit": NOT_A_DIGIT,
        }
        return TemplateResponse(request, "admin/drawings/drawing/review_grid.html", context)

    def review_grid_label_view(self, request: HttpRequest) -> HttpResponse:
        """Label every drawing of a page as posted, as staff, each recorded in the admin's history under
        the reviewer; then the next page."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        suspected = request.POST.get(SUSPECTED_PARAMETER) == "1"
        next_page = reverse("admin:drawings_drawing_review_grid") + ("?suspected=1" if suspected else "")
        try:
            labels = posted_labels(request.POST)
            with transaction.atomic():
                if suspected:
                    before = dict(Drawing.objects.filter(pk__in=list(labels)).values_list("pk", "label"))
                    labelled, skipped = suspected_labels_confirm(labels=labels), list[Drawing]()
                    for drawing in labelled:
                        self.log_change(request, drawing, _confirm_message(drawing, before[drawing.pk]))
                else:
                    labelled, skipped = drawings_label_each(labels=labels, source=LabelSource.STAFF)
                    for drawing in labelled:
                        self.log_change(request, drawing, _change_message(drawing, labels[drawing.pk]))
        except ValueError as exc:
            self.message_user(request, f"Nothing was labelled: {exc}", messages.ERROR)
            return HttpResponseRedirect(next_page)
        if suspected:
            changed = sum(1 for drawing in labelled if drawing.label != before[drawing.pk])
            self.message_user(
                request,
                f"Checked {len(labelled)} label{'' if len(labelled) == 1 else 's'} ({changed} changed).",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(next_page)
        corrected = sum(1 for drawing in labelled if drawing.label != drawing.answer_class)
        self.message_user(
            request,
            f"Labelled {len(labelled)} drawing{'' if len(labelled) == 1 else 's'} ({corrected} corrected).",
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                f"{len(skipped)} had been labelled by someone else meanwhile and kept that label.",
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:drawings_drawing_review_grid"))


def posted_labels(data: QueryDict) -> dict[uuid.UUID, int]:
    """The labels a page posted, by drawing id; ValueError for a field that names no drawing id, a label
    that is not one of LABEL_VALUES, a drawing sent twice, or no drawing at all."""
    labels: dict[uuid.UUID, int] = {}
    for name in data:
        if not name.startswith(LABEL_FIELD_PREFIX):
            continue
        try:
            pk = uuid.UUID(name.removeprefix(LABEL_FIELD_PREFIX))
        except ValueError:
            raise ValueError(f"{name!r} does not name a drawing.") from None
        values = data.getlist(name)
        if pk in labels or len(values) != 1:
            raise ValueError(f"Drawing {pk} was sent more than once.")
        if values[0] not in LABEL_VALUES:
            raise ValueError(f"{values[0]!r} for drawing {pk} is not a label (a digit from 0 to 9, or not a digit).")
        labels[pk] = int(values[0])
    if not labels:
        raise ValueError("the page sent no drawings.")
    return labels


def _groups(drawings: list[Drawing], *, suspected: bool = False) -> list[dict[str, Any]]:
    """The page's drawings by answer (the digits in order, then "not a digit"), each group as the selector
    ordered it; for suspected labels, by label, each tile saying what the label is likely to be."""
    groups: dict[int, list[Drawing]] = {}
    for drawing in drawings:
        answer = drawing.label if suspected else drawing.answer_class
        assert answer is not None, "the grid shows answered or labelled drawings only"
        groups.setdefault(answer, []).append(drawing)
    return [
        {
            "answer": answer,
            "heading": _heading(answer, suspected=suspected),
            "tiles": [
                {
                    "drawing": drawing,
                    "image_url": png_data_url(drawing.processed_image),
                    "answer_name": LABELS[answer],
                    "suspected_name": LABELS[drawing.suspected_label] if drawing.suspected_label is not None else "",
                }
                for drawing in members
            ],
        }
        for answer, members in sorted(groups.items())
    ]


def _heading(answer: int, *, suspected: bool) -> str:
    if suspected:
        return f"Labelled {LABELS[answer]}: the models doubt it"
    return "These look like no digit at all" if answer == NOT_A_DIGIT else f"These look like {answer}"


def _confirm_message(drawing: Drawing, before: int | None) -> str:
    """The admin history's line for a suspected label checked here."""
    label = LABELS[drawing.label] if drawing.label is not None else "nothing"
    if drawing.label == before:
        return f"Confirmed the label {label} on the grid review of labels likely wrong."
    previous = LABELS[before] if before is not None else "nothing"
    return f"Labelled {label} (was {previous}) on the grid review of labels likely wrong."


def _change_message(drawing: Drawing, label: int) -> str:
    """The admin history's line for a drawing labelled here."""
    answer = LABELS[drawing.answer_class] if drawing.answer_class is not None else "nothing"
    return f"Labelled {LABELS[label]} on the grid review page ({drawing.model_name} said {answer})."
