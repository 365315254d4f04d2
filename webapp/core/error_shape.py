"""The API's one error shape, with no dependencies: the HTTP layer answers in it before Django runs."""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    """The one error shape; `extra` adds keys beside code, message and field (the 500's request_id)."""
    return {"error": {"code": code, "message": message, "field": field, **extra}}
