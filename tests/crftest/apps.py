from django.apps import AppConfig


class CrftestConfig(AppConfig):
    name = "tests.crftest"
    label = "crftest"
