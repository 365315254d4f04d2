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
    """Database, broker, workers and loaded models; 503 when the broker or every worker is gone.

    Throttled like reads, and computed at most once a second per process: it costs about a second.
    """

    throttle_classes = [ReadThrottle]

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ok", "unavailable"])
        database = serializers.BooleanField()
        broker = serializers.BooleanField()
        workers = serializers.ListField(child=serializers.CharField())
        loaded_models = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Per worker process: the models (name:version) it holds.",
        )

    @extend_schema(
        responses={
            200: OutputSerializer,
            503: OpenApiResponse(OutputSerializer, description="The broker or every worker is gone."),
            **error_responses(),
        }
    )
    def get(self, request: Request) -> Response:
        health = service_health_cached()
        code = status.HTTP_200_OK if health["status"] == "ok" else status.HTTP_503_SERVICE_UNAVAILABLE
        return Response(health, status=code)
