"""The drawings app's own errors, in the API's one error shape."""

from __future__ import annotations

from typing import Any

from webapp.core.errors import ApiError


class DrawingNotFound(ApiError):
    def __init__(self, drawing_id: Any) -> None:
        super().__init__("not_found", f"No drawing with id {drawing_id}.", status_code=404)


class NotExplainable(ApiError):
    def __init__(self, message: str = "The drawing failed: there is no answer to explain.") -> None:
        super().__init__("not_explainable", message, status_code=409)


class FeedbackForbidden(ApiError):
    def __init__(self) -> None:
        super().__init__(
            "forbidden",
            "Send the drawing's `feedback_token` (from the answer to its submission) to say what it was.",
            status_code=403,
            field="feedback_token",
        )
