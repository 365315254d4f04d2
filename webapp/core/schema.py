"""The OpenAPI schema's conventions: unique component names for nested serializers, and the error shape
documented for every error answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class InkwellAutoSchema(AutoSchema):
    """Names a nested `InputSerializer`/`OutputSerializer` after its view: `DrawingCreateApi.InputSerializer`
    becomes the component `DrawingCreateInput`, so every view's own input and output stay apart."""

    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        owner, _, name = type(serializer).__qualname__.rpartition(".")
        if not owner:
            return name
        return owner.rpartition(".")[2].removesuffix("Api") + name


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case code, e.g. `invalid_image`, `not_found`, `throttled`.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    field = serializers.CharField(allow_null=True, help_text="The request field at fault, if one is.")
    request_id = serializers.CharField(
        required=False, help_text="Only on 500 `internal_error`: the id of the log line with the traceback."
    )


class ErrorSerializer(serializers.Serializer):
    """Every error answer of the API."""

    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input (`invalid_json`, `invalid_<field>`, `too_many_fields`, ...).",
    403: "Not allowed: `forbidden` (feedback without its token) or `permission_denied` (CSRF of a session).",
    404: "`not_found`.",
    409: "`not_explainable`: the drawing failed, so there is no answer to explain.",
    413: "`image_too_large` or `request_too_large`.",
    415: "`unsupported_media_type`: send JSON, multipart or a form.",
    429: "`throttled`: too many requests from this client; see `Retry-After`.",
    500: "`internal_error`, with a `request_id`.",
    503: "`storage_unavailable`: the drawing could not be stored.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers of an operation (400, 429 and 500 can come from any), in the one error shape."""
    return {
        status: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in sorted({400, 429, 500, *statuses})
    }
