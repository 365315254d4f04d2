from django.apps import AppConfig


class ModelVersionsConfig(AppConfig):
    name = "webapp.modelversions"
    verbose_name = "Model versions"
    default_auto_field = "django.db.models.BigAutoField"
