from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = _("Case report forms")

    def ready(self) -> None:
        from crf import checks  # noqa: F401  (registers the audit-coverage check)
