"""Thin views for what belongs to the whole service rather than one app."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core.health import service_health_cached
from webapp.core.schema import error_responses
from webapp.core.throttles import ReadThrottle


class HealthApi(APIView):
    """Readiness: database, broker, workers and loaded models; 503 when the database, the broker or
    every consumer of the `predict` queue is gone.

    Throttled like reads, and computed at most once a second per process.
    """

    throttle_classes = [ReadThrottle]

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ok", "unavailable"])
        database = serializers.BooleanField()
        broker = serializers.BooleanField()
        workers = serializers.ListField(child=serializers.CharField(), help_text="Live workers (any queue).")
        predict_workers = serializers.ListField(
            child=serializers.CharField(), help_text="Live workers that consume the predict queue."
        )
        loaded_models = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Per worker process: the models (name:version) it holds.",
        )

    @extend_schema(
        responses={
            200: OutputSerializer,
            503: OpenApiResponse(
                OutputSerializer, description="The database, the broker or every predict worker is gone."
            ),
            **error_responses(),
        }
    )
    def get(self, request: Request) -> Response:
        health = service_health_cached()
        code = status.HTTP_200_OK if health["status"] == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(health, status=code)


class LivenessApi(APIView):
    """Liveness for a load balancer to call every second: the web process answers, nothing else is asked
    (not throttled, not cached: it costs nothing)."""

    authentication_classes: list[type] = []

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["alive"])

    @extend_schema(responses={200: OutputSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        return Response({"status": "alive"})
