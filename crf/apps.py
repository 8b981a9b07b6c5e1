from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = _("Case report forms")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from crf import checks  # noqa: F401  (registers the audit-coverage check)
        from crf.lockouts import on_user_locked_out

        user_locked_out.connect(on_user_locked_out, dispatch_uid="crf.lockout_notify")
