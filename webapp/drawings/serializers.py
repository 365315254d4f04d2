"""The drawing's public shape (its job state and answer): what the API answers and what a worker publishes
when a job finishes, so that a waiting request answers without reading the row again."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inference.images import png_to_data_url
from webapp.drawings.models import Drawing, Kind


def _png_data_url(data: bytes | memoryview | None) -> str | None:
    return None if data is None else png_to_data_url(data)


class NumberDigitSerializer(serializers.Serializer):
    """One digit of a number, as the worker found and read it."""

    digit = serializers.IntegerField(min_value=0, max_value=9)
    confidence = serializers.FloatField()
    box = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        min_length=4,
        max_length=4,
        help_text="[x, y, width, height] of the digit's ink, in the submitted image's pixels.",
    )
    processed_image = serializers.CharField(help_text="The 28x28 PNG the model saw, as a data URL.")


class DrawingOutputSerializer(serializers.Serializer):
    """A drawing's job state and answer, as GET /api/drawings/<id>/ returns it."""

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    status = serializers.CharField()
    model = serializers.CharField(source="model_name")
    model_version = serializers.IntegerField(allow_null=True)
    digit = serializers.IntegerField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    probabilities = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    processed_image = serializers.SerializerMethodField()
    number = serializers.CharField(
        allow_null=True,
        help_text="A number drawing's digits, left to right (null when none was found, and for a digit drawing).",
    )
    digits = NumberDigitSerializer(many=True, allow_null=True, help_text="A number drawing's digits, left to right.")
    explain = serializers.BooleanField(help_text="A saliency map was asked for (false again if it could not be made).")
    saliency = serializers.SerializerMethodField(
        help_text="Only when an explanation was asked for: a 28x28 PNG data URL to lay over `processed_image`, "
        "orange where pixels spoke for the digit, blue against it, stronger where more opaque."
    )
    label = serializers.IntegerField(allow_null=True, help_text="The trusted label (staff review or import).")  # type: ignore[assignment]
    user_label = serializers.IntegerField(allow_null=True, help_text="What the person who drew it said it is.")
    number_label = serializers.CharField(help_text="A number drawing's trusted label (staff review); empty if none.")
    user_number_label = serializers.CharField(help_text="The number the person who drew it said it is; empty if none.")
    error = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    timings = serializers.SerializerMethodField()

    def get_processed_image(self, drawing: Drawing) -> str | None:
        return _png_data_url(drawing.processed_image)

    def get_saliency(self, drawing: Drawing) -> str | None:
        return _png_data_url(drawing.saliency)

    def get_error(self, drawing: Drawing) -> dict[str, str] | None:
        if not drawing.error_code:
            return None
        return {"code": drawing.error_code, "message": drawing.error_message}

    def get_timings(self, drawing: Drawing) -> dict[str, float | None]:
        return {
            "queue_ms": drawing.queue_ms,
            "preprocess_ms": drawing.preprocess_ms,
            "inference_ms": drawing.inference_ms,
            "total_ms": drawing.total_ms,
        }


# One instance per process: its bound fields are made once, not deep-copied for every drawing.
_OUTPUT = DrawingOutputSerializer()


def drawing_result(drawing: Drawing) -> dict[str, Any]:
    """The drawing as the API shows it, as plain JSON-ready data."""
    return dict(_OUTPUT.to_representation(drawing))
