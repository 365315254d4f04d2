"""The web server's entry point (uvicorn): an event loop reads each request's whole body within a deadline
and a bound (webapp.core.asgi_body), then Django runs it on a pool of reused threads, one hand-off per
request (webapp.core.wsgi_threads), where its database connections persist; a stalled upload never holds
a thread."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

from django.conf import settings  # noqa: E402 (the settings module must be chosen first)
from django.core.wsgi import get_wsgi_application  # noqa: E402

from webapp.core.asgi_body import BufferedBodyMiddleware  # noqa: E402
from webapp.core.wsgi_threads import WsgiOnThreads  # noqa: E402

application = BufferedBodyMiddleware(
    WsgiOnThreads(get_wsgi_application(), threads=settings.WEB_THREADS),  # type: ignore[arg-type]
    timeout=settings.REQUEST_BODY_TIMEOUT_SECONDS,
    max_bytes=settings.API_MAX_BODY_BYTES,
    drain_max_bytes=settings.API_DRAIN_MAX_BYTES,
)
