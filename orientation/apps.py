from django.apps import AppConfig


class OrientationConfig(AppConfig):
    name = "orientation"
    verbose_name = "Orientation (COA)"

    def ready(self):
        from orientation import access, requirements  # noqa: F401  (readiness requirement, case scope, notes)
