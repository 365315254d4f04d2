from django.apps import AppConfig


class DrawingsConfig(AppConfig):
    name = "webapp.drawings"
    verbose_name = "Drawings"

    def ready(self) -> None:
        from webapp.core.metrics import scrape_collector_register
        from webapp.drawings.metrics import DriftCollector

        scrape_collector_register(DriftCollector())
