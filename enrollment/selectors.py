"""Reads of screening and enrollment for pages and reports."""

from __future__ import annotations

from django.db.models import QuerySet

from enrollment.models import MedicalHistory, Participant, Screening


def screening_log() -> QuerySet[Screening]:
    """Every screening with what the log shows, in one query."""
    return Screening.objects.select_related(
        "consent", "participant", "previous_screening"
    ).order_by("-screening_date", "-pk")


def participants() -> QuerySet[Participant]:
    """Every participant with their screening and exit, in one query."""
    return Participant.objects.select_related("screening", "exit").order_by("number")


def medical_history(participant: Participant, *, retired: bool = False) -> QuerySet[MedicalHistory]:
    """A participant's conditions before the first dose, oldest first (retired ones apart)."""
    return (
        MedicalHistory.objects.filter(participant=participant, retired_at__isnull=not retired)
        .select_related("participant")
        .order_by("start_date", "pk")
    )
