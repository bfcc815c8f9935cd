from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Data protection"

    def ready(self):
        # What privacy plugs into movements' hooks: the access log (it listens to every read), its own retention
        # lines (the access log and log-in records), the access history in a person's record, the data
        # protection officer's navigation and start page, and the demo user.
        from privacy import access_log, pages, shredders  # noqa: F401
