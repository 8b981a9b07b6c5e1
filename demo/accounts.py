"""One demo account per role."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.roles import Role


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    role: Role


DEMO_ACCOUNTS = [
    DemoAccount("coordinator", "demo-coordinator-2026", "Li Na", Role.COORDINATOR),
    DemoAccount("investigator", "demo-investigator-2026", "Dr Chen Wei", Role.INVESTIGATOR),
    DemoAccount("monitor", "demo-monitor-2026", "Zhang Min", Role.MONITOR),
    DemoAccount("dsmb", "demo-dsmb-2026", "Prof Wang Jun", Role.DSMB),
    DemoAccount("admin", "demo-admin-2026", "Liu Yang", Role.ADMIN),
]


@transaction.atomic
def demo_accounts_load() -> list[tuple[DemoAccount, bool]]:
    """Create the demo accounts that do not exist yet; return each with whether it was created."""
    user_model = get_user_model()
    results = []
    for account in DEMO_ACCOUNTS:
        user, created = user_model.objects.get_or_create(
            username=account.username,
            defaults={
                "display_name": account.display_name,
                "email": f"{account.username}@demo.invalid",
                # The demo investigator is the principal investigator: escalations reach them.
                "is_principal_investigator": account.role == Role.INVESTIGATOR,
            },
        )
        if created:
            user.set_password(account.password)
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=account.role))
        results.append((account, created))
    return results
