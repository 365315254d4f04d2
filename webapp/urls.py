"""Inkwell's URLs: the page, the API, its schema and docs, the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from webapp.core import views as core_views

urlpatterns = [
    path("api/", include("webapp.drawings.urls")),
    path("api/", include("webapp.modelversions.urls")),
    path("api/", include("webapp.core.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", template_name="core/swagger_ui.html"),
        name="docs",
    ),
    path("admin/", admin.site.urls),
    path("metrics", core_views.metrics, name="metrics"),
    path("", include("webapp.page.urls")),
]
