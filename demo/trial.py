"""A realistic demo trial dated relative to today: 11 screens, 8 participants at many stages."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from crf.services import record_create
from demo.outcomes import demo_outcomes_load
from demo.safety import demo_safety_load
from dosing.models import DoseRecord
from dosing.services import dose_record
from enrollment import services
from enrollment.examples import eligible_answers
from enrollment.models import Consent, Identity, MedicalHistory, Screening, StudyExit
from study import protocol


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
    # Dosing days that deviate: day -> dict of DoseRecord fields; None means no record (missed).
    doses: dict = field(default_factory=dict)


DEMO_PEOPLE = [
    DemoPerson(
        (1969, 5, 2),
        "F",
        330,
        {"mda5_titre": "3+", "pf_ratio_latest": 168},
        name="Chen Xiaoyu",
        doses={
            4: {
                "given": "no",
                "not_given_reason": "unavailable",
                "not_given_text": "Lot released a day late",
            }
        },
    ),
    DemoPerson(
        (1975, 9, 18), "M", 200, {"mda5_titre": "2+", "pf_ratio_latest": 214}, doses={7: None}
    ),
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
            # Dosing stopped early: the safety follow-up counts from the last dose, day 9.
            "days_after_first_dose": 10,
            "decided_by": "participant",
            "reason": "Declined further nebulization after the cough paroxysms of days 9 and 10",
            "followup_permitted": True,
        },
        doses={
            9: {
                "given": "partial",
                "not_given_reason": "intolerance",
                "not_given_text": "Cough, stopped after 10 min",
                "ev_cough": True,
                "dose_particles": 80_000_000,
                "dose_reason": "Nebulization stopped early",
            },
            10: {"given": "no", "not_given_reason": "refused"},
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
    DemoPerson(
        (1990, 2, 3),
        "F",
        26,
        {"mda5_titre": "3+", "pf_ratio_latest": 188},
        rescreen_of=6,
        doses={
            3: {
                "pre_spo2": 93,
                "post_spo2": 87,
                "ev_notes": "SpO2 87 % at 20 min, back to 92 % with O2 4 L/min",
            }
        },
    ),
    DemoPerson((1978, 4, 15), "M", 9, {"mda5_titre": "3+", "pf_ratio_latest": 176}),
    DemoPerson(
        (1986, 12, 1),
        "F",
        4,
        {"mda5_titre": "2+", "pf_ratio_latest": 205},
        doses={
            3: {
                "given": "partial",
                "not_given_reason": "intolerance",
                "not_given_text": "Chest tightness",
                "ev_dyspnoea": True,
                "dose_particles": 120_000_000,
                "dose_reason": "Nebulization stopped early",
            }
        },
    ),
]


def _answers(person: DemoPerson, screened: dt.date) -> dict:
    answers = eligible_answers(screened, born=dt.date(*person.born), sex=person.sex)
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
        _load_medical_history(participant, coordinator, index)
        _load_doses(person, participant, coordinator, today, index)
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
    demo_safety_load()
    demo_outcomes_load()
    return True


# Conditions before the first dose: (term, start, end or "" while ongoing); partial dates as taken.
MEDICAL_HISTORY = (
    ("Type 2 diabetes mellitus", "2016", ""),
    ("Hypertension", "2019-03", ""),
    ("Pulmonary tuberculosis, treated", "2008", "2009-02"),
    ("Gastro-oesophageal reflux disease", "2021-06-12", ""),
    ("Herpes zoster", "2022-09", "2022-10"),
    ("Raynaud phenomenon", "2024-11", ""),
)


def _load_medical_history(participant, actor, index: int) -> None:
    for term, start, end in (MEDICAL_HISTORY[index % 6], MEDICAL_HISTORY[(index + 3) % 6])[
        : 1 + index % 2
    ]:
        services.medical_history_save(
            history=MedicalHistory(
                participant=participant,
                term=term,
                start_date=start,
                ongoing=not end,
                end_date=end,
            ),
            actor=actor,
        )


POST_MEASURES = (
    "post_spo2",
    "post_hr",
    "post_rr",
    "post_sbp",
    "post_dbp",
    "post_o2_flow",
    "post_fio2",
)


def _load_doses(person: DemoPerson, participant, actor, today: dt.date, seed: int) -> None:
    """Doses up to yesterday (today's stays due), or up to the day the participant left."""
    rng = random.Random(seed)  # noqa: S311  (demo vitals, reproducible on purpose)
    first = participant.first_dose_date
    last_day = (today - first).days  # yesterday's study day
    if person.exit:
        last_day = min(last_day, person.exit["days_after_first_dose"])
    for day in range(1, min(protocol.DOSING_DAYS, last_day) + 1):
        deviation = person.doses.get(day, {})
        if deviation is None:
            continue  # no record at all: shows as missed
        spo2 = rng.randint(90, 96)
        values = {
            "participant": participant,
            "study_day": day,
            "dose_date": first + dt.timedelta(days=day - 1),
            "given": "yes",
            "start_time": dt.time(9, rng.choice((0, 10, 20, 30))),
            "dose_particles": protocol.DOSE_PARTICLES_DEFAULT,
            "volume_ml": protocol.DOSE_VOLUME_ML_DEFAULT,
            "nebulizer_type": "mesh",
            "device_id": "NEB-0" + str(1 + seed % 3),
            "product_lot": "EXO-P1-2026-0" + str(10 + day // 8),
            "administered_by": "Nurse Huang Li",
            "pre_spo2": spo2,
            "pre_hr": rng.randint(78, 104),
            "pre_rr": rng.randint(18, 26),
            "pre_sbp": rng.randint(112, 138),
            "pre_dbp": rng.randint(66, 84),
            "pre_o2_device": "nasal_cannula",
            "pre_o2_flow": Decimal(3),
            "pre_fio2": Decimal("0.33"),
            "post_spo2": spo2 + rng.choice((-1, 0, 1)),
            "post_hr": rng.randint(76, 102),
            "post_rr": rng.randint(18, 25),
            "post_sbp": rng.randint(110, 136),
            "post_dbp": rng.randint(64, 82),
            "post_o2_device": "nasal_cannula",
            "post_o2_flow": Decimal(3),
            "post_fio2": Decimal("0.33"),
        }
        values.update(deviation)
        if values["given"] == "no":
            # Nothing was nebulized: no times, no dose, no post-dose measurements.
            values.update(start_time=None, dose_particles=None, volume_ml=None, post_o2_device="")
            values.update({name: None for name in POST_MEASURES})
        else:
            start = values["start_time"]
            minutes = 10 if values["given"] == "partial" else 20
            values["end_time"] = dt.time(start.hour, start.minute + minutes)
        dose_record(dose=DoseRecord(**values), actor=actor)
