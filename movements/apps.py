from django.apps import AppConfig


class MovementsConfig(AppConfig):
    name = "movements"
    verbose_name = "Movements"

    def ready(self):
        from movements import signals  # noqa: F401  (keeps the readiness snapshot fresh)
