from pathlib import Path

from django.core.management.base import BaseCommand

from crf.spreadsheet import SafeWriter
from reports import exports
from reports.models import ExportLog
from reports.odm import odm_stream


class Command(BaseCommand):
    help = "Export the study data (the same code as the exports page), for scheduled jobs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--format", required=True, choices=["csv", "odm", "dictionary"], dest="kind"
        )
        parser.add_argument("--output", required=True, help="File to write (a .zip for csv)")
        parser.add_argument(
            "--audit",
            action="store_true",
            help="ODM only: give every value an AuditRecord of its last change",
        )

    def handle(self, *args, kind, output, audit=False, **options):
        path = Path(output)
        if kind == "csv":
            with path.open("wb") as handle:
                for chunk in exports.csv_zip_stream():
                    handle.write(chunk)
        elif kind == "odm":
            with path.open("w", encoding="utf-8") as handle:
                for part in odm_stream(audit=audit):
                    handle.write(part)
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                SafeWriter(handle).writerows(exports.dictionary_rows())
        logged = "odm-audit" if kind == "odm" and audit else kind
        ExportLog.objects.create(kind=f"command:{logged}")
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({path.stat().st_size} bytes)."))
