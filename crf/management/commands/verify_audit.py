from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from crf import chain


class Command(BaseCommand):
    help = (
        "Check the audit trail against its hash chain and daily digests; name the first broken "
        "link. Exits with status 1 when the trail was tampered with."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seal",
            action="store_true",
            help="First seal every event written so far, settled or not (e.g. before an export).",
        )

    def handle(self, *args, seal=False, **options):
        if seal:
            sealed = chain.audit_seal(settle=timedelta(0))
            self.stdout.write(f"Sealed {sealed} new events.")
        result = chain.audit_verify()
        if result.broken is not None:
            raise CommandError(
                f"Audit trail broken after {result.links} good links, at {result.broken}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit trail intact: {result.links} links, head {result.head}.")
        )
