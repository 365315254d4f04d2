"""The drawer's own answer, accepted only with the drawing's feedback token."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from webapp.drawings.errors import FeedbackForbidden
from webapp.drawings.models import Drawing
from webapp.drawings.services.labels import number_validate

FEEDBACK_TOKEN_SALT = "webapp.drawings.feedback_token"


def _feedback_token(drawing_id: str | uuid.UUID, secret: str) -> str:
    return salted_hmac(FEEDBACK_TOKEN_SALT, str(drawing_id), secret=secret, algorithm="sha256").hexdigest()


def drawing_feedback_token(*, drawing_id: str | uuid.UUID) -> str:
    """The secret that lets whoever submitted a drawing say what it was: an HMAC of its id with
    SECRET_KEY, so nothing is stored (keys in SECRET_KEY_FALLBACKS still accept older tokens)."""
    return _feedback_token(drawing_id, settings.SECRET_KEY)


def drawing_feedback_record(*, drawing: Drawing, label: int, feedback_token: str) -> Drawing:
    """Keep the drawer's answer in `user_label`, given the drawing's feedback token (else FeedbackForbidden).

    It never touches the trusted `label`: whether training believes it is FINETUNE_TRUST_USER_LABELS's call.
    """
    _feedback_token_check(drawing, feedback_token)
    drawing.user_label = label
    drawing.user_labelled_at = timezone.now()
    drawing.save(update_fields=["user_label", "user_labelled_at"])
    return drawing


def drawing_number_feedback_record(*, drawing: Drawing, number: str, feedback_token: str) -> Drawing:
    """Keep the drawer's correction of a whole number in `user_number_label`, given the feedback token."""
    _feedback_token_check(drawing, feedback_token)
    drawing.user_number_label = number_validate(number=number)
    drawing.user_labelled_at = timezone.now()
    drawing.save(update_fields=["user_number_label", "user_labelled_at"])
    return drawing


def _feedback_token_check(drawing: Drawing, feedback_token: str) -> None:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(_feedback_token(drawing.pk, key), feedback_token or "") for key in secrets):
        raise FeedbackForbidden()
