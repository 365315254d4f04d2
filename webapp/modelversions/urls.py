from django.urls import path

from webapp.modelversions import apis

urlpatterns = [
    path("models/", apis.ModelListApi.as_view(), name="model-list"),
]
