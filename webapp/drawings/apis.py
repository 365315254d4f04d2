"""Thin API views: parse input, call a service or selector, shape the output."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import registry
from inference.errors import ImageTooLarge, InvalidImage
from inference.images import data_url_to_bytes
from inference.preprocess import MAX_BYTES
from webapp.core.errors import ApiError, StorageUnavailable
from webapp.core.parsers import json_loads_bounded
from webapp.core.schema import error_responses
from webapp.core.throttles import ReadThrottle, SubmitThrottle
from webapp.drawings.models import NUMBER_MAX_DIGITS, Kind, Source
from webapp.drawings.selectors import drawing_get, drawing_result_when_finished
from webapp.drawings.serializers import DrawingOutputSerializer, LabelField, drawing_result
from webapp.drawings.services.creation import drawing_create_and_wait
from webapp.drawings.services.explanations import drawing_explain_request
from webapp.drawings.services.feedback import (
    drawing_feedback_record,
    drawing_feedback_token,
    drawing_number_feedback_record,
)

MAX_STROKE_POINTS = 5000
# A 28x28 PNG of a one, for the schema's example request.
EXAMPLE_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAI0lEQVR42mP8z4AbMDHQRJIFhcfIwPCf9naOSg4v"
    "ScYBSLcAorcDN4+quK4AAAAASUVORK5CYII="
)
DRAWING_ID = OpenApiParameter("drawing_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The drawing's id.")


def decode_image_field(value: Any) -> bytes:
    """An uploaded file, a data URL or bare base64 to bytes, refusing oversized input before decoding."""
    if value is None or value == "":
        raise ApiError("image_required", "Send the drawing in the `image` field.", field="image")
    if hasattr(value, "read"):
        if value.size > MAX_BYTES:
            raise ImageTooLarge(f"The image is {value.size} bytes; the limit is {MAX_BYTES} bytes.")
        return value.read()
    if not isinstance(value, str):
        raise InvalidImage("`image` must be a data URL, a base64 string or an uploaded file.")
    return data_url_to_bytes(value, max_bytes=MAX_BYTES)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file in a multipart body (documented as binary; the view reads it from `request.FILES`)."""


POINT_SCHEMA = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}


@extend_schema_field({"type": "array", "items": {"type": "array", "items": POINT_SCHEMA}})
class StrokesField(serializers.JSONField):
    """A list of strokes, each a list of [x, y, t] points (canvas pixels, milliseconds)."""

    def to_internal_value(self, data: Any) -> Any:
        if getattr(data, "is_json_string", False):  # a form field: parse it as JSON, bounded
            try:
                data = json_loads_bounded(str(data))
            except ValueError as exc:
                raise serializers.ValidationError("strokes must be JSON.", code="invalid_strokes") from exc
        if not isinstance(data, list) or not all(isinstance(stroke, list) for stroke in data):
            raise serializers.ValidationError("strokes must be a list of lists of points.", code="invalid_strokes")
        points = [point for stroke in data for point in stroke]
        if len(points) > MAX_STROKE_POINTS:
            raise serializers.ValidationError(
                f"At most {MAX_STROKE_POINTS} points per drawing.", code="invalid_strokes"
            )
        for point in points:
            if not (isinstance(point, list) and 2 <= len(point) <= 3 and all(_is_number(v) for v in point)):
                raise serializers.ValidationError(
                    "Each point must be [x, y] or [x, y, t] numbers.", code="invalid_strokes"
                )
        return data


NUMBER_PATTERN = rf"^[0-9]{{1,{NUMBER_MAX_DIGITS}}}$"


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError("Must be a finite number.")


class WaitSerializer(serializers.Serializer):
    """`?wait=N`: hold the request until the drawing is finished, at most N seconds (0-10)."""

    wait = serializers.FloatField(
        required=False, default=0, min_value=0, max_value=settings.MAX_WAIT_SECONDS, validators=[_finite]
    )


# The serializers the views validate with are built once per process and called with `run_validation`
# (what `is_valid` calls; they keep nothing per call): a new one per request deep-copied its fields (a
# submit through Django's test client: 22.51 -> 21.47 million instructions, callgrind).
_WAIT = WaitSerializer()


def wait_seconds(request: Request) -> float:
    """The request's valid `?wait` (0 if absent), else the 400 of an invalid one."""
    return float(_WAIT.run_validation(request.query_params)["wait"])


WAIT_PARAMETER = OpenApiParameter(
    "wait",
    {"type": "number", "minimum": 0, "maximum": settings.MAX_WAIT_SECONDS},
    description="Seconds to wait for the result (0-10): answered as soon as it is finished.",
)


class DrawingCreateApi(APIView):
    """Submit a drawing; it is stored, queued, and answered with 202 and where to poll, or, with
    `?wait=N`, with 200 and the result as soon as it is finished (202 if it is not within N seconds)."""

    throttle_classes = [SubmitThrottle]

    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, default=registry.DEFAULT_MODEL)
        kind = serializers.CharField(
            required=False,
            default=Kind.DIGIT,
            help_text="`digit` (one digit, the default) or `number` (a whole number: the worker finds its digits).",
        )
        canvas_width = serializers.IntegerField(required=False, min_value=1, max_value=10000)
        canvas_height = serializers.IntegerField(required=False, min_value=1, max_value=10000)
        client_id = serializers.RegexField(r"^[A-Za-z0-9_-]{1,64}$", required=False)
        strokes = StrokesField(required=False)
        explain = serializers.BooleanField(
            required=False, default=False, help_text="Also compute the saliency map of the answer (`saliency`)."
        )

    class JsonInputSerializer(InputSerializer):
        """The JSON (or form) body: the image as a data URL or bare base64."""

        image = serializers.CharField(
            help_text="A PNG or JPEG as a data URL (`data:image/png;base64,...`) or bare base64; at most 2 MB."
        )

    class MultipartInputSerializer(InputSerializer):
        """The multipart body: the image as a file; `strokes` as a JSON string."""

        image = UploadField(help_text="A PNG or JPEG file; at most 2 MB.")
        strokes = serializers.CharField(  # type: ignore[assignment]
            required=False, help_text="The strokes as JSON (see the JSON body)."
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.ChoiceField(choices=Kind.choices)
        status = serializers.CharField()
        model = serializers.CharField(source="model_name")
        url = serializers.URLField()
        feedback_token = serializers.CharField(
            help_text="The secret to send with feedback on this drawing (POST .../label/); only this answer has it."
        )

    class DoneOutputSerializer(DrawingOutputSerializer):
        """The finished drawing (with `?wait=N`, when it finished in time), plus what the 202 answer has."""

        url = serializers.URLField()
        feedback_token = serializers.CharField(help_text="The secret to send with feedback on this drawing.")

    @extend_schema(
        parameters=[WAIT_PARAMETER],
        request={
            "application/json": JsonInputSerializer,
            "multipart/form-data": MultipartInputSerializer,
            "application/x-www-form-urlencoded": JsonInputSerializer,
        },
        responses={200: DoneOutputSerializer, 202: OutputSerializer, **error_responses(403, 413, 415, 503)},
        examples=[
            OpenApiExample(
                "A one",
                value={"image": f"data:image/png;base64,{EXAMPLE_PNG}", "model": registry.DEFAULT_MODEL},
                request_only=True,
                media_type="application/json",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        wait = wait_seconds(request)
        data = request.data
        if not hasattr(data, "get"):
            raise ApiError("invalid_json", "The body must be a JSON object.")
        image = decode_image_field(request.FILES.get("image") or data.get("image"))
        values = _CREATE_INPUT.run_validation(data)
        if values["kind"] not in Kind.values:
            raise ApiError("invalid_kind", "`kind` is `digit` or `number`.", field="kind")
        if values["kind"] == Kind.NUMBER and values["explain"]:
            raise ApiError("not_explainable", "Explanations are made for single digits only.", field="explain")
        try:
            drawing, result = drawing_create_and_wait(
                wait_seconds=wait,
                image=image,
                model_name=values["model"],
                kind=values["kind"],
                source=Source.WEB if values.get("client_id") else Source.API,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                canvas_width=values.get("canvas_width"),
                canvas_height=values.get("canvas_height"),
                client_id=values.get("client_id", ""),
                strokes=values.get("strokes"),
                explain=values["explain"],
            )
        except DatabaseError as exc:
            raise StorageUnavailable() from exc
        url = request.build_absolute_uri(reverse("drawing-detail", args=[drawing.id]))
        token = drawing_feedback_token(drawing_id=drawing.id)
        if result is not None:  # one request per drawing: the result came within `wait`
            return Response({**result, "url": url, "feedback_token": token}, headers={"Location": url})
        body = {
            "id": str(drawing.id),
            "kind": drawing.kind,
            "status": drawing.status,
            "model": drawing.model_name,
            "url": url,
            "feedback_token": token,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


_CREATE_INPUT = DrawingCreateApi.InputSerializer()


class DrawingDetailApi(APIView):
    """A drawing's state and answer; `?wait=N` holds the request until it is finished (N <= 10 s)."""

    throttle_classes = [ReadThrottle]

    @extend_schema(
        parameters=[DRAWING_ID, WAIT_PARAMETER],
        responses={200: DrawingOutputSerializer, **error_responses(404)},
    )
    def get(self, request: Request, drawing_id: str) -> Response:
        return Response(drawing_result_when_finished(drawing_id=drawing_id, wait_seconds=wait_seconds(request)))


class DrawingLabelApi(APIView):
    """The drawer says what the digit really was (`label`), or for a number drawing the whole number
    (`number`, e.g. "2026"), proving it with the drawing's feedback token (else 403).

    The answer is kept as `user_label` (`user_number_label`), apart from the trusted label staff review sets.
    """

    throttle_classes = [SubmitThrottle]

    class InputSerializer(serializers.Serializer):
        label = LabelField(  # type: ignore[assignment]
            required=False, help_text='The digit, for a digit drawing, or "not_a_digit".'
        )
        number = serializers.RegexField(
            NUMBER_PATTERN, required=False, help_text="The whole number as a string of digits, for a number drawing."
        )
        feedback_token = serializers.CharField(
            required=False, allow_blank=True, max_length=128, help_text="From the answer to the drawing's submission."
        )

    @extend_schema(
        parameters=[DRAWING_ID],
        request=InputSerializer,
        responses={200: DrawingOutputSerializer, **error_responses(403, 404, 413, 415)},
    )
    def post(self, request: Request, drawing_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        drawing = drawing_get(drawing_id=drawing_id)
        token = values.get("feedback_token", "")
        if drawing.kind == Kind.NUMBER:
            if "number" not in values:
                raise ApiError("invalid_number", "Say what the number was in `number`.", field="number")
            drawing = drawing_number_feedback_record(drawing=drawing, number=values["number"], feedback_token=token)
        else:
            if "label" not in values:
                raise ApiError("invalid_label", "Say what the digit was in `label`.", field="label")
            drawing = drawing_feedback_record(drawing=drawing, label=values["label"], feedback_token=token)
        return Response(drawing_result(drawing))


class DrawingExplainApi(APIView):
    """Ask for the saliency map of a drawing's answer, after the fact (the page's "Explain" button).

    It is computed by a worker on the version that answered; poll `GET .../?wait=N` for `saliency`.
    Answered 200 when the map is already there, else 202; 409 `not_explainable` for a failed drawing.
    """

    throttle_classes = [SubmitThrottle]

    @extend_schema(
        parameters=[DRAWING_ID],
        request=None,
        responses={200: DrawingOutputSerializer, 202: DrawingOutputSerializer, **error_responses(404, 409)},
    )
    def post(self, request: Request, drawing_id: str) -> Response:
        drawing = drawing_explain_request(drawing=drawing_get(drawing_id=drawing_id))
        url = request.build_absolute_uri(reverse("drawing-detail", args=[drawing.id]))
        code = status.HTTP_200_OK if drawing.saliency is not None else status.HTTP_202_ACCEPTED
        return Response(drawing_result(drawing), status=code, headers={"Location": url})
