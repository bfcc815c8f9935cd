from django.apps import AppConfig


class MovementsConfig(AppConfig):
    name = "movements"
    verbose_name = "Movements"

    def ready(self):
        # The core's own providers of its hooks (medical requirements, its navigation entries) and the readiness
        # snapshot's upkeep.
        from movements import medical, navigation, signals  # noqa: F401
