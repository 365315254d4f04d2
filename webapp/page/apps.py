from django.apps import AppConfig


class PageConfig(AppConfig):
    """The drawing page at `/`: a template and static files on top of the REST API."""

    name = "webapp.page"
    label = "page"
