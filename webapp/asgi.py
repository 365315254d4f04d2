"""ASGI entry point, served by uvicorn: bodies are buffered in the event loop (webapp.core.asgi_body)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

from django.conf import settings  # noqa: E402 (the settings module must be chosen first)
from django.core.asgi import get_asgi_application  # noqa: E402

from webapp.core.asgi_body import BufferedBodyMiddleware  # noqa: E402

application = BufferedBodyMiddleware(
    get_asgi_application(),
    timeout=settings.REQUEST_BODY_TIMEOUT_SECONDS,
    max_bytes=settings.API_MAX_BODY_BYTES,
    drain_max_bytes=settings.API_DRAIN_MAX_BYTES,
)
