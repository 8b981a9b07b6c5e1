import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.models import ReportLanguage
from reports.services import render_pdf


class Command(BaseCommand):
    help = "Build the DSMB safety report for a data cut-off (the same code as the web page)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--cutoff", required=True, help="ISO date and time, e.g. 2026-11-30T18:00"
        )
        parser.add_argument("--output", required=True, help="PDF file to write")
        parser.add_argument(
            "--label",
            dest="report_version",
            default="scheduled",
            help="Version shown on the title page",
        )
        parser.add_argument(
            "--language",
            choices=ReportLanguage.values,
            default=ReportLanguage.EN,
            help="Language of the report (default: en)",
        )

    def handle(self, *args, cutoff, output, report_version, language, **options):
        try:
            moment = dt.datetime.fromisoformat(cutoff)
        except ValueError:
            raise CommandError(f"--cutoff {cutoff!r} is not an ISO date and time.") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        pdf, pages = render_pdf(
            moment, version=report_version, requested_by="build_dsmb_report", language=language
        )
        Path(output).write_bytes(pdf)
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}: {pages} pages, {len(pdf)} bytes."))
