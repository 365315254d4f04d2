"""Thin views for what belongs to the whole service rather than one app."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core.health import service_health


class HealthApi(APIView):
    """Readiness: database, broker, workers and loaded models; 503 when the database, the broker or
    every consumer of the `predict` queue is gone."""

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        health = service_health()
        code = status.HTTP_200_OK if health["status"] == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(health, status=code)


class LivenessApi(APIView):
    """Liveness for a load balancer to call every second: the web process answers, nothing else is asked."""

    authentication_classes: list[type] = []

    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        return Response({"status": "alive"})
