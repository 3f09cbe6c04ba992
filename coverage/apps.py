from django.apps import AppConfig


class CoverageConfig(AppConfig):
    name = "coverage"
    verbose_name = "Live coverage"

    def ready(self):
        from coverage import signals  # noqa: F401  (connects the embed handlers)
