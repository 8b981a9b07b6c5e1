"""Copy report PDFs kept on a local disk into the configured reports storage (e.g. a bucket)."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.management.base import BaseCommand, CommandError

from reports.models import Report
from reports.storage import report_storage


def sha256(storage, name: str) -> tuple[bytes, str]:
    with storage.open(name, "rb") as handle:
        data = handle.read()
    return data, hashlib.sha256(data).hexdigest()


class Command(BaseCommand):
    help = (
        "Copy the PDF of every report from a local folder (by default MEDIA_ROOT) into the reports "
        "storage, under the same name, each checked against the SHA-256 recorded when it was "
        "built. Files already in the storage are checked, not copied again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", help="Folder holding reports/ (default: MEDIA_ROOT)")

    def handle(self, *args, source=None, **options):
        folder = Path(source or settings.MEDIA_ROOT)
        local = FileSystemStorage(location=folder)
        copied = checked = 0
        problems = []
        for report in Report.objects.exclude(file="").order_by("pk"):
            name = report.file.name
            if report_storage.exists(name):
                if sha256(report_storage, name)[1] != report.sha256:
                    problems.append(f"report {report.pk}: {name} in the storage fails its SHA-256.")
                checked += 1
                continue
            if not local.exists(name):
                problems.append(f"report {report.pk}: {name} is neither in {folder} nor stored.")
                continue
            data, digest = sha256(local, name)
            if digest != report.sha256:
                problems.append(
                    f"report {report.pk}: {folder / name} fails its SHA-256; not copied."
                )
                continue
            saved = report_storage.save(name, ContentFile(data))
            if saved != name:
                problems.append(f"report {report.pk}: stored as {saved}, not {name}.")
                continue
            copied += 1
        self.stdout.write(f"{copied} copied, {checked} already stored and checked.")
        if problems:
            raise CommandError("\n".join(problems))
