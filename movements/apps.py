from django.apps import AppConfig


class MovementsConfig(AppConfig):
    name = "movements"
    verbose_name = "Movements"

    def ready(self):
        # The core's own providers of its hooks (medical requirements, its navigation entries, what the retention
        # removes from its records and what a person's own record holds of them) and the readiness snapshot's upkeep.
        from movements import medical, navigation, shredders, signals, subject  # noqa: F401
        # The `<id:…>` converter of every app's addresses (a row's id, up to 18 digits).
        from movements import converters  # noqa: F401
