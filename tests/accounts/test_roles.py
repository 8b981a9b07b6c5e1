"""Roles, their permissions, navigation and account management."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.access import can
from accounts.roles import ROLE_PERMS, Perm, Role

pytestmark = pytest.mark.django_db


def test_the_data_migration_creates_every_role_group_with_its_permissions():
    for role in Role:
        group = Group.objects.get(name=role)
        codenames = set(group.permissions.values_list("codename", flat=True))
        assert codenames == {str(perm) for perm in ROLE_PERMS[role]}


@pytest.mark.parametrize(
    ("role", "perm", "allowed"),
    [
        (Role.COORDINATOR, Perm.ENTER_DATA, True),
        (Role.COORDINATOR, Perm.ASSESS_AE, False),
        (Role.COORDINATOR, Perm.SIGN_RECORDS, False),
        (Role.COORDINATOR, Perm.DOWNLOAD_REPORTS, False),
        (Role.INVESTIGATOR, Perm.SIGN_RECORDS, True),
        (Role.INVESTIGATOR, Perm.MANAGE_QUERIES, False),
        (Role.MONITOR, Perm.ENTER_DATA, False),
        (Role.MONITOR, Perm.MANAGE_QUERIES, True),
        (Role.MONITOR, Perm.EXPORT_DATA, True),
        (Role.DSMB, Perm.DOWNLOAD_REPORTS, True),
        (Role.DSMB, Perm.VIEW_DATA, False),
        (Role.ADMIN, Perm.MANAGE_USERS, True),
        (Role.ADMIN, Perm.VIEW_DATA, False),
    ],
)
def test_each_role_may_do_what_the_design_says(make_user, role, perm, allowed):
    assert can(make_user(role), perm) is allowed


def test_a_deactivated_user_may_do_nothing(make_user):
    user = make_user(Role.INVESTIGATOR)
    user.is_active = False
    user.save()
    assert not any(can(user, perm) for perm in Perm)


def test_the_navigation_shows_account_management_to_the_administrator_only(
    client_for, admin_user, coordinator
):
    assert "/admin/accounts/user/" in client_for(admin_user).get("/").content.decode()
    assert "/admin/accounts/user/" not in client_for(coordinator).get("/").content.decode()


def test_the_administrator_manages_accounts_but_cannot_delete_them(
    client_for, admin_user, coordinator
):
    client = client_for(admin_user)
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get(f"/admin/accounts/user/{coordinator.pk}/change/").status_code == 200
    assert client.get(f"/admin/accounts/user/{coordinator.pk}/delete/").status_code == 403


@pytest.mark.parametrize("persona", ["coordinator", "investigator", "monitor", "dsmb_member"])
def test_study_roles_cannot_reach_account_management(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))
    response = client.get("/admin/accounts/user/")
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert client.get(response["Location"]).status_code == 403


def test_a_user_without_role_is_told_to_ask_for_one(client_for, outsider):
    assert "no study role" in client_for(outsider).get("/").content.decode()


def test_the_home_page_lists_what_the_role_may_do(client_for, monitor):
    html = client_for(monitor).get("/").content.decode()
    assert str(Perm.MANAGE_QUERIES.label) in html
    assert str(Perm.ENTER_DATA.label) not in html


def test_superuser_status_grants_no_clinical_access(make_user):
    user = make_user(None, is_superuser=True, is_staff=True)
    assert not any(can(user, perm) for perm in Perm)


def test_create_admin_makes_an_account_in_the_administrator_role(db, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    monkeypatch.setenv("NEW_ADMIN_PASSWORD", "a-long-enough-passphrase")
    call_command("create_admin", username="it-admin", password_from_env="NEW_ADMIN_PASSWORD")
    user = get_user_model().objects.get(username="it-admin")
    assert user.roles == [Role.ADMIN]
    assert can(user, Perm.MANAGE_USERS)
    assert not user.is_superuser


def test_create_admin_refuses_a_weak_password(db, monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("NEW_ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError):
        call_command("create_admin", username="it-admin", password_from_env="NEW_ADMIN_PASSWORD")


def test_granting_and_revoking_a_role_in_account_management_is_audited(
    client_for, admin_user, make_user
):
    from accounts.models import UserRoleEvent

    person = make_user(None, username="new-monitor")
    client = client_for(admin_user)
    monitor_group = Group.objects.get(name=Role.MONITOR)
    data = {
        "username": person.username,
        "display_name": "New Monitor",
        "first_name": "",
        "last_name": "",
        "email": person.email,
        "is_active": "on",
        "groups": [str(monitor_group.pk)],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-11-01",
        "date_joined_1": "10:00:00",
    }
    response = client.post(f"/admin/accounts/user/{person.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    data.pop("groups")
    data.pop("is_active")
    client.post(f"/admin/accounts/user/{person.pk}/change/", data)

    events = list(
        UserRoleEvent.objects.filter(user=person).order_by("pgh_id").select_related("pgh_context")
    )
    assert [event.pgh_label for event in events] == ["role.granted", "role.revoked"]
    assert all(event.pgh_context.metadata["username"] == admin_user.username for event in events)
    person.refresh_from_db()
    assert person.is_active is False
    deactivation = person.events.order_by("pgh_id").last()
    assert deactivation.is_active is False
    assert deactivation.pgh_context.metadata["username"] == admin_user.username
