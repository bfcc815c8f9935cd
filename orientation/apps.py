from django.apps import AppConfig


class OrientationConfig(AppConfig):
    name = "orientation"
