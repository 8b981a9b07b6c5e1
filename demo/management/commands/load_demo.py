from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.accounts import demo_accounts_load
from demo.trial import demo_trial_load


class Command(BaseCommand):
    help = "Load the demo accounts (one per role) and demo trial data. Idempotent; DEBUG only."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "load_demo refuses to run with DEBUG off: demo accounts with published passwords "
                "must never reach a production database."
            )
        results = demo_accounts_load()
        created = sum(1 for _, was_created in results if was_created)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo accounts: {created} created, {len(results) - created} already present."
            )
        )
        if demo_trial_load():
            self.stdout.write(
                self.style.SUCCESS("Demo trial loaded: 11 screenings, 8 participants.")
            )
        else:
            self.stdout.write("Demo trial: trial data already present, left as it is.")
        self.stdout.write("")
        self.stdout.write("  Demo accounts (sign in with username and password):")
        self.stdout.write(f"  {'role':<14}{'username':<15}password")
        for account, _ in results:
            self.stdout.write(f"  {account.role.label:<14}{account.username:<15}{account.password}")
        self.stdout.write("  (a password changed after the first load stays changed)")
        required = [
            account.role.label
            for account, _ in results
            if account.role in settings.MFA_REQUIRED_ROLES
        ]
        if required:
            self.stdout.write(
                f"  Two-factor authentication is required for: {', '.join(map(str, required))}."
            )
            self.stdout.write(
                "  These accounts set up an authenticator app (TOTP) at their first sign-in."
            )
