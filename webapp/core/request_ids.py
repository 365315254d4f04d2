"""A request id per request: answered in `X-Request-ID` and written on every log line of the request."""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("inkwell_request_id", default="-")


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_current() -> str:
    """The id of the request being handled in this thread or task, or "-" outside a request."""
    return _current.get()


def request_id_set(value: str) -> object:
    """Make `value` the current request id; returns the token that `request_id_reset` takes."""
    return _current.set(value)


def request_id_reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record, so a log format can show it (`%(request_id)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_current()
        return True
