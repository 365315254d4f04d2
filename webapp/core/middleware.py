"""Request ids for every request, and the API's one error shape for every answer under /api/."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response

from webapp.core.errors import STATUS_CODES, django_error, error_body
from webapp.core.request_ids import (
    REQUEST_ID_HEADER,
    request_id_current,
    request_id_new,
    request_id_reset,
    request_id_set,
)

API_PREFIX = "/api/"
logger = logging.getLogger(__name__)


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class RequestIdMiddleware:
    """Give each request a fresh id, put it on its log lines and answer it in `X-Request-ID`.

    The id is made here, never taken from the client, so a log line cannot be forged to match another's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_new()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class ApiErrorMiddleware:
    """Under /api/, answer every error in the error shape: Django's own 400/404/500 pages, the errors
    raised while reading a request (too many fields), and any unexpected exception (500
    `internal_error`, logged with its traceback and the request id that the answer quotes)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api_request(request) and response.status_code >= 400 and not _is_error_shaped(response):
            return _json_error_for_status(response)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not is_api_request(request):
            return None
        error = django_error(exc)
        if error is not None:
            return JsonResponse(error_body(error.code, error.message, error.field), status=error.status_code)
        request_id = request_id_current()
        logger.error(
            "Unhandled exception on %s %s (request id %s)", request.method, request.path, request_id, exc_info=exc
        )
        return internal_error_response(request_id)


def internal_error_response(request_id: str) -> JsonResponse:
    message = f"Something went wrong on our side; quote request id {request_id} when reporting it."
    return JsonResponse(error_body("internal_error", message, request_id=request_id), status=500)


def _is_error_shaped(response: HttpResponse) -> bool:
    """Whether the answer is already the error shape, or JSON that the view chose (health's 503)."""
    if isinstance(response, Response):
        return True
    return response.get("Content-Type", "").startswith("application/json")


def _json_error_for_status(response: HttpResponse) -> HttpResponse:
    """The error shape in place of a page Django (or a middleware) made for this status."""
    status_code = response.status_code
    if status_code == 500:
        return internal_error_response(request_id_current())
    code = STATUS_CODES.get(status_code, "error")
    message = response.reason_phrase or "Error"
    converted = JsonResponse(error_body(code, f"{message}."), status=status_code)
    for header in ("Allow", "Retry-After"):
        if header in response:
            converted[header] = response[header]
    return converted
