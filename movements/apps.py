from django.apps import AppConfig


class MovementsConfig(AppConfig):
    name = "movements"
    verbose_name = "Movements"

    def ready(self):
        from movements import medical, signals  # noqa: F401  (medical requirements; readiness snapshot upkeep)
