import csv
from pathlib import Path

from django.core.management.base import BaseCommand

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

    def handle(self, *args, kind, output, **options):
        path = Path(output)
        if kind == "csv":
            with path.open("wb") as handle:
                for chunk in exports.csv_zip_stream():
                    handle.write(chunk)
        elif kind == "odm":
            with path.open("w", encoding="utf-8") as handle:
                for part in odm_stream():
                    handle.write(part)
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerows(exports.dictionary_rows())
        ExportLog.objects.create(kind=f"command:{kind}")
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({path.stat().st_size} bytes)."))
