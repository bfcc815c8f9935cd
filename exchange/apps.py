from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = "Exchange with partners (UNHCR)"

    def ready(self):
        from exchange import pages  # noqa: F401  (its navigation entry)
