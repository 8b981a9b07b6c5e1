"""A realistic demo trial dated relative to today: 11 screens, 8 participants at many stages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from crf.services import record_create
from enrollment import services
from enrollment.models import Consent, Identity, Screening, StudyExit


@dataclass
class DemoPerson:
    """One person in the demo: screening answers that differ from the typical case."""

    born: tuple[int, int, int]
    sex: str
    first_dose_days_ago: int | None  # None: a screen failure
    answers: dict = field(default_factory=dict)
    exit: dict | None = None
    name: str | None = None  # fictitious, to show the identity record
    rescreen_of: int | None = None  # index of an earlier person in DEMO_PEOPLE


DEMO_PEOPLE = [
    DemoPerson(
        (1969, 5, 2), "F", 330, {"mda5_titre": "3+", "pf_ratio_latest": 168}, name="Chen Xiaoyu"
    ),
    DemoPerson((1975, 9, 18), "M", 200, {"mda5_titre": "2+", "pf_ratio_latest": 214}),
    DemoPerson(
        (1958, 1, 30),
        "M",
        120,
        {"mda5_titre": "3+", "pf_ratio_latest": 96, "mmrc": 4},
        exit={
            "kind": "died",
            "days_after_first_dose": 20,
            "death_cause": "Respiratory failure from progressive RP-ILD",
        },
    ),
    DemoPerson(
        (1981, 11, 7), "F", 95, {"mda5_titre": "2+", "pf_ratio_latest": 242}, name="Liang Mei"
    ),
    DemoPerson(
        (1964, 3, 21),
        "F",
        45,
        {"mda5_titre": "1+", "pf_ratio_latest": 231},
        exit={
            "kind": "withdrawn",
            "days_after_first_dose": 15,
            "decided_by": "participant",
            "reason": "Moved to another province for family reasons",
            "followup_permitted": True,
        },
    ),
    # Screen failures.
    DemoPerson((1972, 6, 12), "M", None, {"mda5_result": "negative", "mda5_titre": "neg"}),
    DemoPerson((1990, 2, 3), "F", None, {"active_pulmonary_infection": True}),
    DemoPerson(
        (1955, 8, 28),
        "M",
        None,
        {"extracorporeal_support": True, "rpild_confirmed": False, "pf_ratio_latest": 62},
    ),
    # Re-screened after the infection was treated, then enrolled.
    DemoPerson((1990, 2, 3), "F", 26, {"mda5_titre": "3+", "pf_ratio_latest": 188}, rescreen_of=6),
    DemoPerson((1978, 4, 15), "M", 9, {"mda5_titre": "3+", "pf_ratio_latest": 176}),
    DemoPerson((1986, 12, 1), "F", 4, {"mda5_titre": "2+", "pf_ratio_latest": 205}),
]


def _answers(person: DemoPerson, screened: dt.date) -> dict:
    answers = {
        "screening_date": screened,
        "date_of_birth": dt.date(*person.born),
        "sex": person.sex,
        "dm_classification": "cadm",
        "mda5_assay": "line_blot",
        "mda5_test_date": screened - dt.timedelta(days=6),
        "mda5_result": "positive",
        "mda5_titre": "2+",
        "symptom_onset_date": screened - dt.timedelta(days=50),
        "ild_diagnosis_date": screened - dt.timedelta(days=30),
        "hrct_progression": True,
        "hrct_first_date": screened - dt.timedelta(days=30),
        "hrct_progression_date": screened - dt.timedelta(days=4),
        "mmrc": 3,
        "pf_ratio_first": 290,
        "pf_ratio_first_date": screened - dt.timedelta(days=28),
        "pf_ratio_latest": 200,
        "pf_ratio_latest_date": screened - dt.timedelta(days=1),
        "fvc_pct": 58,
        "dlco_pct": 39,
        "rpild_confirmed": True,
        "pregnant_or_breastfeeding": False,
        "severe_allergy": False,
        "active_pulmonary_infection": False,
        "pulmonary_embolism": False,
        "extracorporeal_support": False,
        "other_unsafe": False,
        "childbearing_potential": None,
    }
    if person.sex == "F":
        young = screened.year - person.born[0] < 50
        answers["childbearing_potential"] = young
        if young:
            answers["pregnancy_test_date"] = screened
            answers["pregnancy_test_result"] = "negative"
    answers.update(person.answers)
    return answers


@transaction.atomic
def demo_trial_load() -> bool:
    """Load the demo trial once; return False when trial data already exists."""
    if Screening.objects.exists():
        return False
    users = get_user_model().objects
    coordinator = users.get(username="coordinator")
    investigator = users.get(username="investigator")
    today = timezone.localdate()
    screenings: list[Screening] = []
    for index, person in enumerate(DEMO_PEOPLE):
        if person.first_dose_days_ago is None:
            screened = today - dt.timedelta(days=150 - 40 * index % 120)
        else:
            screened = today - dt.timedelta(days=person.first_dose_days_ago + 3)
        previous = screenings[person.rescreen_of] if person.rescreen_of is not None else None
        screening = services.screening_save(
            screening=Screening(previous_screening=previous, **_answers(person, screened)),
            actor=coordinator,
        )
        screenings.append(screening)
        if person.name:
            record_create(
                record=Identity(
                    screening=screening,
                    full_name=person.name,
                    hospital_record_number=f"GY{900100 + index}",
                ),
                actor=coordinator,
            )
        if person.first_dose_days_ago is None:
            continue
        services.consent_save(
            consent=Consent(
                screening=screening,
                form_version="2.1",
                consented_at=timezone.make_aware(dt.datetime.combine(screened, dt.time(9, 30))),
                obtained_by=investigator,
            ),
            actor=coordinator,
        )
        first_dose = today - dt.timedelta(days=person.first_dose_days_ago)
        participant = services.participant_enroll(
            screening=screening,
            enrollment_date=screened + dt.timedelta(days=1),
            planned_first_dose=first_dose,
            actor=coordinator,
        )
        participant.first_dose_date = first_dose
        participant = services.participant_update(
            participant=participant,
            actor=coordinator,
            expected_version=participant.version,
            reason="First dose given as planned.",
        )
        if person.exit:
            details = dict(person.exit)
            days = details.pop("days_after_first_dose")
            services.study_exit_save(
                study_exit=StudyExit(
                    participant=participant,
                    exit_date=first_dose + dt.timedelta(days=days),
                    **details,
                ),
                actor=investigator,
            )
    return True
