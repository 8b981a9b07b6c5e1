"""Factories that document a valid record; tests change only what they are about."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from enrollment import services
from enrollment.examples import eligible_answers
from enrollment.models import Consent, Participant, Screening
from outcomes.schedule_table import schedule_rebuild


def screening_answers(**changes) -> dict:
    """Answers of an eligible screen two days ago, as model field values."""
    today = timezone.localdate()
    answers = eligible_answers(
        today - dt.timedelta(days=2), born=dt.date(today.year - 52, 3, 14), sex="F"
    )
    answers.update(changes)
    return answers


def screening_form_data(**changes) -> dict:
    """The same answers as a browser posts them."""
    data = {}
    for name, value in screening_answers(**changes).items():
        if value is None:
            data[name] = ""
        elif isinstance(value, bool):
            data[name] = "True" if value else "False"
        elif isinstance(value, dt.date):
            data[name] = value.isoformat()
        else:
            data[name] = str(value)
    return data


def make_screening(actor, **changes) -> Screening:
    return services.screening_save(screening=Screening(**screening_answers(**changes)), actor=actor)


def make_consent(screening: Screening, actor, *, at: dt.datetime | None = None) -> Consent:
    at = at or timezone.make_aware(
        dt.datetime.combine(screening.screening_date - dt.timedelta(days=1), dt.time(9, 30))
    )
    return services.consent_save(
        consent=Consent(
            screening=screening, form_version="2.1", consented_at=at, obtained_by=actor
        ),
        actor=actor,
    )


def make_participant(actor, *, first_dose: dt.date | None = None, **changes) -> Participant:
    """Screen, consent and enroll; with a past first dose, everything is dated before it."""
    today = timezone.localdate()
    first_dose = first_dose or today + dt.timedelta(days=2)
    changes.setdefault("screening_date", min(today, first_dose) - dt.timedelta(days=2))
    screening = make_screening(actor, **changes)
    make_consent(screening, actor)
    participant = services.participant_enroll(
        screening=screening,
        enrollment_date=screening.screening_date,
        planned_first_dose=first_dose,
        actor=actor,
    )
    if first_dose <= today:
        participant.first_dose_date = first_dose
        participant = services.participant_update(
            participant=participant,
            actor=actor,
            expected_version=participant.version,
            reason="first dose given",
        )
    return participant


def bulk_participants(actor, count: int, *, start: int = 0) -> None:
    """Insert many participants at once, for query-count tests (bypasses the cap on purpose);
    `start` numbers a second batch after a first one."""
    today = timezone.localdate()
    screenings = Screening.objects.bulk_create(
        [
            Screening(**screening_answers(), eligible=True, created_by=actor, updated_by=actor)
            for _ in range(count)
        ]
    )
    first_doses = [today - dt.timedelta(days=n % 400) for n in range(start, start + count)]
    participants = Participant.objects.bulk_create(
        [
            Participant(
                participant_id=f"BULK-{start + n:05d}",
                number=10_000 + start + n,
                screening=screening,
                enrollment_date=first_doses[n] - dt.timedelta(days=1),
                planned_first_dose=first_doses[n],
                first_dose_date=first_doses[n],
                created_by=actor,
                updated_by=actor,
            )
            for n, screening in enumerate(screenings)
        ]
    )
    # Their stored schedules, as the services would have built them.
    schedule_rebuild(participant_ids=[p.pk for p in participants], today=today)


def make_ae(participant, actor, *, term: str = "Cough", grade: int = 1, **fields):
    """Report an adverse event through the service (a non-serious one by default)."""
    from safety.models import AdverseEvent, CtcaeTerm
    from safety.services import adverse_event_report

    values = {
        "participant": participant,
        "verbatim_term": term.lower(),
        "term": CtcaeTerm.objects.get(term=term),
        "onset_date": participant.first_dose_date,
        "grade": grade,
        "serious": False,
        "action_taken": "none",
        "outcome": "recovering",
        "ongoing": True,
    }
    values.update(fields)
    return adverse_event_report(ae=AdverseEvent(**values), actor=actor)


def assess(ae, actor, *, related: str = "possibly", expected: bool = True):
    from safety.services import adverse_event_assess

    ae.rel_study_drug = related
    ae.rel_background = "possibly_not"
    ae.expected = expected
    ae.ib_version = "3.0"
    return adverse_event_assess(ae=ae, actor=actor, expected_version=ae.version)


def make_visit(participant, actor, code: str, on=None, **fields):
    from crf.schedule import date_of_study_day
    from outcomes.models import Visit
    from outcomes.services import visit_save
    from study import protocol

    if on is None:
        visit_def = next(v for v in protocol.VISITS if v.code == code)
        on = date_of_study_day(participant.anchor, visit_def.offset)
    return visit_save(
        visit=Visit(participant=participant, code=code, visit_date=on, **fields), actor=actor
    )


def make_dose(participant, actor, day: int, **fields):
    """Record the nebulization of one study day (given in full unless told otherwise)."""
    from dosing.models import DoseRecord
    from dosing.services import dose_record
    from study import protocol

    values = {
        "participant": participant,
        "study_day": day,
        "dose_date": participant.anchor + dt.timedelta(days=day - 1),
        "given": "yes",
        "start_time": dt.time(9),
        "end_time": dt.time(9, 20),
        "dose_particles": protocol.DOSE_PARTICLES_DEFAULT,
    }
    values.update(fields)
    return dose_record(dose=DoseRecord(**values), actor=actor)


def complete_visit(visit, actor) -> None:
    """Record every form the visit's protocol lists, with plausible values."""
    from demo.outcomes import _crfs

    _crfs(visit, 0.5, actor, 1)


def make_exit(participant, actor, *, kind: str = "withdrawn", on: dt.date, **fields):
    """Record how the participant left; a withdrawal stops follow-up unless told otherwise."""
    from enrollment.models import StudyExit
    from enrollment.services import study_exit_save

    values = {"participant": participant, "kind": kind, "exit_date": on}
    if kind == "withdrawn":
        values.update(decided_by="participant", reason="declined", followup_permitted=False)
    if kind == "died":
        values["death_cause"] = "respiratory failure"
    values.update(fields)
    study_exit = study_exit_save(study_exit=StudyExit(**values), actor=actor)
    participant.refresh_from_db()
    return study_exit


def bulk_adverse_events(actor, participants, *, now=None) -> None:
    """Give each participant a mix of events at once, for query-count tests and benchmarks:
    a mild cough; every third a serious, related, unexpected grade 3 event (a SUSAR) with a
    worse follow-up and its initial report sent; and the first eight doses, one partly given."""
    from dosing.models import DoseRecord
    from safety.models import AdverseEvent, AeFollowUp, CtcaeTerm, SafetyReport

    now = now or timezone.now()
    cough, dyspnea = CtcaeTerm.objects.get(term="Cough"), CtcaeTerm.objects.get(term="Dyspnea")
    by = {"created_by": actor, "updated_by": actor}
    events = []
    for n, participant in enumerate(participants):
        anchor = participant.first_dose_date or participant.planned_first_dose
        events.append(
            AdverseEvent(
                participant=participant, number=1, verbatim_term="cough", term=cough,
                onset_date=anchor, grade=1, serious=False, action_taken="none",
                outcome="recovering", awareness_at=now - dt.timedelta(days=n % 30), **by,
            )
        )  # fmt: skip
        if n % 3 == 0:
            events.append(
                AdverseEvent(
                    participant=participant, number=2, verbatim_term="breathless", term=dyspnea,
                    onset_date=anchor + dt.timedelta(days=2), grade=3, serious=True,
                    sae_hospitalisation=True, action_taken="interrupted", outcome="recovering",
                    awareness_at=now - dt.timedelta(hours=n % 72), rel_study_drug="probably",
                    rel_background="possibly_not", expected=False, assessed_by=actor,
                    assessed_at=now, **by,
                )
            )  # fmt: skip
    events = AdverseEvent.objects.bulk_create(events, batch_size=2000)
    serious = [ae for ae in events if ae.serious]
    AeFollowUp.objects.bulk_create(
        [
            AeFollowUp(
                adverse_event=ae, on_date=ae.onset_date + dt.timedelta(days=1), grade=4, **by
            )
            for ae in serious
        ],
        batch_size=2000,
    )
    SafetyReport.objects.bulk_create(
        [
            SafetyReport(
                adverse_event=ae, kind="initial", sent_at=ae.awareness_at + dt.timedelta(hours=n % 30),
                sent_to="sponsor", **by,
            )
            for n, ae in enumerate(serious)
            if n % 2 == 0
        ],
        batch_size=2000,
    )  # fmt: skip
    DoseRecord.objects.bulk_create(
        [
            DoseRecord(
                participant=participant, study_day=day,
                dose_date=(participant.first_dose_date or participant.planned_first_dose) + dt.timedelta(days=day - 1),
                given="partial" if day == 4 else "yes",
                not_given_reason="" if day != 4 else "intolerance", start_time=dt.time(9), **by,
            )
            for participant in participants
            for day in range(1, 9)
        ],
        batch_size=5000,
    )  # fmt: skip
