"""Where report PDFs are kept: the "reports" storage of STORAGES (local folder or S3 bucket).

Every web and worker process reaches the files through this storage, never through a path, so
several hosts can share one bucket instead of one disk.
"""

from __future__ import annotations

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

ALIAS = "reports"


class ReportStorage(LazyObject):
    """The configured "reports" storage, looked up on first use and again when STORAGES changes."""

    def _setup(self) -> None:
        self._wrapped = storages[ALIAS]


report_storage = ReportStorage()


def reports_storage() -> ReportStorage:
    """The storage of `Report.file` (a callable, so migrations name it rather than a backend)."""
    return report_storage


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        report_storage._wrapped = empty
