from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: Redis, the error shape, throttles, health, the serving version."""

    name = "webapp.core"
    label = "core"
