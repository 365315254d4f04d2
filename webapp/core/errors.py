"""One error shape for the whole API: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from inference.errors import (
    BlankDrawing,
    ImageTooLarge,
    InferenceError,
    InvalidImage,
    UnknownModel,
    UnsupportedFormat,
)

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An application error with a stable code, an HTTP status and optionally the field at fault."""

    def __init__(self, code: str, message: str, *, status_code: int = 400, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status_code, self.field = code, message, status_code, field


class StorageUnavailable(ApiError):
    def __init__(self) -> None:
        super().__init__("storage_unavailable", "Storage is unavailable; try again shortly.", status_code=503)


INFERENCE_STATUS: dict[type[InferenceError], int] = {
    ImageTooLarge: 413,
    InvalidImage: 400,
    UnsupportedFormat: 400,
    BlankDrawing: 400,
    UnknownModel: 400,
}
INFERENCE_FIELD: dict[type[InferenceError], str] = {UnknownModel: "model"}

DRF_CODES = {
    exceptions.ParseError: "invalid_json",
    exceptions.NotFound: "not_found",
    exceptions.Throttled: "throttled",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotAcceptable: "not_acceptable",
}


def error_response(code: str, message: str, status_code: int, field: str | None = None) -> Response:
    return Response({"error": {"code": code, "message": message, "field": field}}, status=status_code)


def _first_validation_error(detail: Any, prefix: str | None = None) -> tuple[str | None, str, str]:
    """(field, code, message) of the first error in a DRF ValidationError's detail."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        name = field if field != "non_field_errors" else None
        return _first_validation_error(value, name if prefix is None else f"{prefix}.{name}")
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0], prefix)
    if prefix:  # one stable code per field, whatever the rule that failed
        return prefix, f"invalid_{prefix}", str(detail)
    return None, str(getattr(detail, "code", "invalid")), str(detail)


# Errors of an unreachable or restarting database (terminated connection, too many clients, pool
# exhausted): the client may retry; nothing of the database's own text reaches it.
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError)
RETRY_AFTER_SECONDS = 5


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Translate application, inference and DRF exceptions into the one error shape."""
    if isinstance(exc, TRANSIENT_DATABASE_ERRORS):
        logger.warning("Database unavailable: %s", exc)
        exc = StorageUnavailable()
    if isinstance(exc, ApiError):
        answer = error_response(exc.code, exc.message, exc.status_code, exc.field)
        if isinstance(exc, StorageUnavailable):
            answer["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return answer
    if isinstance(exc, InferenceError):
        status_code = INFERENCE_STATUS.get(type(exc), 400)
        return error_response(exc.code, exc.message, status_code, INFERENCE_FIELD.get(type(exc), "image"))
    if isinstance(exc, exceptions.ValidationError):
        field, code, message = _first_validation_error(exc.detail)
        return error_response(code, message, status.HTTP_400_BAD_REQUEST, field)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = getattr(exc, "detail", str(exc))
    response.data = {"error": {"code": code, "message": str(detail), "field": None}}
    return response
