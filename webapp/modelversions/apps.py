from django.apps import AppConfig


class ModelVersionsConfig(AppConfig):
    name = "webapp.modelversions"
    verbose_name = "Model versions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webapp.core.serving import active_version_resolver_set, artifact_fetcher_set, shadow_version_resolver_set
        from webapp.modelversions.artifacts import model_artifact_fetch
        from webapp.modelversions.selectors import model_version_active, model_version_shadow

        active_version_resolver_set(model_version_active)
        shadow_version_resolver_set(model_version_shadow)
        artifact_fetcher_set(model_artifact_fetch)
