"""Create the study role groups and grant each its permissions (DESIGN.md section 4)."""

from django.db import migrations

# Frozen copy of accounts.roles.ROLE_PERMS at the time of this migration.
ROLE_PERMS = {
    "coordinator": ["enter_data", "view_data", "answer_queries"],
    "investigator": [
        "enter_data",
        "view_data",
        "assess_ae",
        "sign_records",
        "answer_queries",
        "request_reports",
        "download_reports",
        "export_data",
    ],
    "monitor": ["view_data", "manage_queries", "request_reports", "download_reports", "export_data"],
    "dsmb": ["download_reports"],
    "admin": ["manage_users"],
}

PERM_NAMES = {
    "enter_data": "Screen, enroll and enter CRF data",
    "view_data": "View clinical data and its history",
    "assess_ae": "Assess adverse events (grade, causality, expectedness)",
    "sign_records": "Sign CRFs and casebooks",
    "manage_queries": "Raise and close data queries, mark SDV",
    "answer_queries": "Answer data queries",
    "request_reports": "Request DSMB reports",
    "download_reports": "Download DSMB reports",
    "export_data": "Export study data",
    "manage_users": "Manage user accounts",
}


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    # Permissions are normally created after migrate; create them here so the groups can hold them.
    user_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    perms = {}
    for codename, name in PERM_NAMES.items():
        perms[codename], _ = Permission.objects.get_or_create(
            content_type=user_type, codename=codename, defaults={"name": name}
        )
    for role, codenames in ROLE_PERMS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([perms[codename] for codename in codenames])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
