"""Plain Django views of the core app (not under /api/: Prometheus expects plain text at /metrics)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST

from webapp.core.metrics import metrics_exposition


def metrics(request: HttpRequest) -> HttpResponse:
    """Every web and worker process's metrics, for a Prometheus scrape."""
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)
