import os

from django.core.management.base import BaseCommand

from ops.dbroles import app_role_grant


class Command(BaseCommand):
    help = (
        "Create or update the database role the portal runs as (data rights only; no TRUNCATE, "
        "ALTER or trigger control; audit events insert-only). Run as the table owner after "
        "migrate. The password is taken from APP_DB_PASSWORD when set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", default=os.environ.get("APP_DB_USER", "trialportal_app"))

    def handle(self, *args, role, **options):
        app_role_grant(role=role, password=os.environ.get("APP_DB_PASSWORD") or None)
        self.stdout.write(self.style.SUCCESS(f"Database role {role} has the portal's rights."))
