from django.apps import AppConfig


class OrientationConfig(AppConfig):
    name = "orientation"
    verbose_name = "Orientation (COA)"

    def ready(self):
        # What orientation plugs into movements' hooks: a readiness requirement and member notes, its navigation
        # entry and a trainer's start page, and its demo sessions.
        # What the retention removes from its records, and what a person's own record holds of them.
        from orientation import demo, pages, requirements, shredders, subject  # noqa: F401
