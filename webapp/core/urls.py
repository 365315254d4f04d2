from django.urls import path

from webapp.core import apis

urlpatterns = [
    path("health/", apis.HealthApi.as_view(), name="health"),
    path("health/live/", apis.LivenessApi.as_view(), name="health-live"),
]
