"""The study roles and what each may do (DESIGN.md section 4)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DSMB = "dsmb", _("DSMB member")
    ADMIN = "admin", _("Administrator")


class Perm(models.TextChoices):
    """Study permissions: Django permissions of the accounts app, granted to the role groups."""

    ENTER_DATA = "enter_data", _("Screen, enroll and enter CRF data")
    VIEW_DATA = "view_data", _("View clinical data and its history")
    ASSESS_AE = "assess_ae", _("Assess adverse events (grade, causality, expectedness)")
    SIGN_RECORDS = "sign_records", _("Sign CRFs and casebooks")
    MANAGE_QUERIES = "manage_queries", _("Raise and close data queries, mark SDV")
    ANSWER_QUERIES = "answer_queries", _("Answer data queries")
    REQUEST_REPORTS = "request_reports", _("Request DSMB reports")
    DOWNLOAD_REPORTS = "download_reports", _("Download DSMB reports")
    EXPORT_DATA = "export_data", _("Export study data")
    MANAGE_USERS = "manage_users", _("Manage user accounts")


# The matrix the data migration 0002 grants; a change here needs a new data migration.
ROLE_PERMS: dict[str, set[str]] = {
    Role.COORDINATOR: {Perm.ENTER_DATA, Perm.VIEW_DATA, Perm.ANSWER_QUERIES},
    Role.INVESTIGATOR: {
        Perm.ENTER_DATA,
        Perm.VIEW_DATA,
        Perm.ASSESS_AE,
        Perm.SIGN_RECORDS,
        Perm.ANSWER_QUERIES,
        Perm.REQUEST_REPORTS,
        Perm.DOWNLOAD_REPORTS,
        Perm.EXPORT_DATA,
    },
    Role.MONITOR: {
        Perm.VIEW_DATA,
        Perm.MANAGE_QUERIES,
        Perm.REQUEST_REPORTS,
        Perm.DOWNLOAD_REPORTS,
        Perm.EXPORT_DATA,
    },
    Role.DSMB: {Perm.DOWNLOAD_REPORTS},
    Role.ADMIN: {Perm.MANAGE_USERS},
}
