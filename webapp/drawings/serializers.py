"""The drawing's public shape (its job state and answer): what the API answers and what a worker publishes
when a job finishes, so that a waiting request answers without reading the row again."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inference.answer import NOT_A_DIGIT
from inference.images import png_to_data_url
from webapp.drawings.models import Drawing, Kind


def _png_data_url(data: bytes | memoryview | None) -> str | None:
    return None if data is None else png_to_data_url(data)


# How the API names the label NOT_A_DIGIT.
NOT_A_DIGIT_NAME = "not_a_digit"


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 9}, {"type": "string", "enum": [NOT_A_DIGIT_NAME]}]}
)
class LabelField(serializers.Field):
    """A label: a digit 0-9, or "not_a_digit" (stored as NOT_A_DIGIT)."""

    default_error_messages = {"invalid": 'A label is a digit from 0 to 9, or "not_a_digit".'}

    def to_representation(self, value: int) -> int | str:
        return NOT_A_DIGIT_NAME if value == NOT_A_DIGIT else value

    def to_internal_value(self, data: Any) -> int:
        if data == NOT_A_DIGIT_NAME:
            return NOT_A_DIGIT
        if isinstance(data, int) and not isinstance(data, bool) and 0 <= data <= 9:
            return data
        if isinstance(data, str) and len(data) == 1 and "0" <= data <= "9":
            return int(data)
        self.fail("invalid")


class NumberDigitSerializer(serializers.Serializer):
    """One part of a number, as the worker found and read it: a digit, or not a digit."""

    digit = serializers.IntegerField(min_value=0, max_value=9, allow_null=True, help_text="Null when not a digit.")
    not_a_digit = serializers.BooleanField(default=False, help_text="The model says this part is not a digit.")
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
    digit = serializers.IntegerField(allow_null=True, help_text="Null until answered, and when it is not a digit.")
    not_a_digit = serializers.BooleanField(
        help_text="The model says the drawing is not a digit (a letter, a scribble, a shape, several digits)."
    )
    confidence = serializers.FloatField(allow_null=True, help_text="The probability of the answer (a digit, or not).")
    probabilities = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="The ten digits' probabilities."
    )
    not_a_digit_probability = serializers.FloatField(
        allow_null=True, help_text="The probability that it is not a digit (0 for models without that class)."
    )
    not_a_digit_voters = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text='The model versions whose mean "not a digit" margin decided it, e.g. {"cnn": 7, "dense": 7,'
        ' "numpy": 6}; null when the model decided alone (`NOT_A_DIGIT_COMMITTEE=false`, or a ten-class model).',
    )
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
    label = LabelField(allow_null=True, help_text="The trusted label (staff review or import).")  # type: ignore[assignment]
    user_label = LabelField(allow_null=True, help_text="What the person who drew it said it is.")
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
