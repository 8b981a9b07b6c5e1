"""Visits and follow-up CRFs."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = _("Outcomes")

    def ready(self) -> None:
        from crf.signals import record_saved
        from enrollment.models import ScheduleEntry
        from enrollment.schedule_store import refresh_requested
        from outcomes import schedule_table

        # The stored schedule is derived data kept in step with every save (schedule_table).
        for model in schedule_table.fact_models():
            record_saved.connect(
                schedule_table.on_record_saved,
                sender=model,
                dispatch_uid=f"outcomes.schedule.{model._meta.label}",
            )
        refresh_requested.connect(
            schedule_table.on_refresh_requested,
            sender=ScheduleEntry,
            dispatch_uid="outcomes.schedule_refresh",
        )
