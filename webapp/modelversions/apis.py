"""Thin views of the models on offer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.core.schema import error_responses
from webapp.core.throttles import ReadThrottle
from webapp.modelversions.selectors import model_list


class ModelListApi(APIView):
    """The models on offer, with their active version's figures."""

    throttle_classes = [ReadThrottle]

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        title = serializers.CharField()
        framework = serializers.CharField()
        version = serializers.IntegerField()
        parameters = serializers.IntegerField()
        mnist_accuracy = serializers.FloatField(allow_null=True)
        website_accuracy = serializers.FloatField(allow_null=True)
        description = serializers.CharField()
        default = serializers.BooleanField()

    @extend_schema(responses={200: OutputSerializer(many=True), **error_responses()})
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(model_list(), many=True).data)
