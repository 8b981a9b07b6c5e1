"""Demo adverse events: a dozen across participants, one SAE with its reports, one death."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from enrollment.models import Participant
from safety import services
from safety.models import AdverseEvent, AeFollowUp, CtcaeTerm, SafetyReport

# participant, study day of onset, term, grade, extra fields, assessment (related, expected) or None
DEMO_EVENTS = [
    (
        "MDA5-001",
        2,
        "Cough",
        1,
        {"verbatim_term": "Dry cough after nebulization", "outcome": "recovered", "end": 4},
        ("possibly", True),
    ),
    (
        "MDA5-001",
        5,
        "Fever",
        1,
        {"verbatim_term": "Low-grade fever 37.9", "outcome": "recovered", "end": 6},
        ("possibly_not", True),
    ),
    (
        "MDA5-002",
        3,
        "Nausea",
        1,
        {"verbatim_term": "Nausea", "outcome": "recovered", "end": 5},
        ("possibly_not", True),
    ),
    (
        "MDA5-002",
        10,
        "Hypokalemia",
        2,
        {
            "verbatim_term": "K 3.0 mmol/L",
            "outcome": "recovered",
            "end": 14,
            "treatment": "Oral KCl",
        },
        ("definitely_not", True),
    ),
    (
        "MDA5-003",
        17,
        "Respiratory failure",
        4,
        {
            "verbatim_term": "Type 1 respiratory failure, intubated",
            "serious": True,
            "sae_life_threatening": True,
            "sae_hospitalisation": True,
            "action_taken": "not_applicable",
            "outcome": "not_recovered",
        },
        ("possibly_not", True),
    ),
    (
        "MDA5-004",
        6,
        "Insomnia",
        1,
        {"verbatim_term": "Poor sleep on prednisone", "outcome": "recovering"},
        ("definitely_not", True),
    ),
    (
        "MDA5-004",
        12,
        "Mucosal infection",
        2,
        {
            "verbatim_term": "Oral thrush",
            "outcome": "recovered",
            "end": 19,
            "treatment": "Nystatin",
        },
        ("possibly_not", True),
    ),
    (
        "MDA5-005",
        9,
        "Cough",
        2,
        {
            "verbatim_term": "Cough paroxysm during nebulization",
            "action_taken": "withdrawn",
            "outcome": "recovered",
            "end": 10,
        },
        ("probably", True),
    ),
    (
        "MDA5-006",
        3,
        "Hypoxia",
        3,
        {
            "verbatim_term": "Desaturation to 87 % after nebulization, O2 increased",
            "serious": True,
            "sae_important": True,
            "action_taken": "none",
            "outcome": "recovered",
            "end": 4,
            "onset_time": dt.time(9, 40),
        },
        ("possibly", False),
    ),
    (
        "MDA5-007",
        2,
        "Headache",
        1,
        {"verbatim_term": "Headache", "outcome": "recovered", "end": 2},
        None,
    ),
    (
        "MDA5-007",
        4,
        "Fever",
        1,
        {"verbatim_term": "Fever 38.1 in the evening", "outcome": "recovered", "end": 5},
        None,
    ),
    (
        "MDA5-008",
        3,
        "Dyspnea",
        2,
        {
            "verbatim_term": "Chest tightness during nebulization",
            "action_taken": "interrupted",
            "outcome": "recovered",
            "end": 3,
        },
        None,
    ),
]


def demo_safety_load() -> None:
    """Load the demo adverse events (called once, with the demo trial)."""
    users = get_user_model().objects
    coordinator = users.get(username="coordinator")
    investigator = users.get(username="investigator")
    participants = {p.participant_id: p for p in Participant.objects.all()}
    terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in={e[2] for e in DEMO_EVENTS})}
    for pid, day, term, grade, extra, assessment in DEMO_EVENTS:
        participant = participants[pid]
        extra = dict(extra)
        onset = participant.first_dose_date + dt.timedelta(days=day - 1)
        end_day = extra.pop("end", None)
        end = participant.first_dose_date + dt.timedelta(days=end_day - 1) if end_day else None
        ae = services.adverse_event_report(
            ae=AdverseEvent(
                participant=participant,
                term=terms[term],
                grade=grade,
                onset_date=onset,
                ongoing=end is None,
                end_date=end,
                serious=extra.pop("serious", False),
                action_taken=extra.pop("action_taken", "none"),
                awareness_at=timezone.make_aware(dt.datetime.combine(onset, dt.time(15, 0))),
                **extra,
            ),
            actor=coordinator,
        )
        if assessment:
            related, expected = assessment
            ae.rel_study_drug, ae.rel_background = related, "possibly_not"
            ae.expected, ae.ib_version = expected, "3.0"
            ae = services.adverse_event_assess(
                ae=ae, actor=investigator, expected_version=ae.version
            )
        if ae.serious:
            _reports(ae, coordinator)
    _death(participants["MDA5-003"], coordinator, investigator)


def _reports(ae: AdverseEvent, actor) -> None:
    initial = services.safety_report_add(
        report=SafetyReport(
            adverse_event=ae,
            kind="initial",
            sent_at=ae.awareness_at + dt.timedelta(hours=18),
            sent_to="Sponsor pharmacovigilance; ethics committee",
        ),
        actor=actor,
    )
    if ae.susar:
        services.safety_report_add(
            report=SafetyReport(
                adverse_event=ae,
                kind="susar",
                sent_at=ae.awareness_at + dt.timedelta(days=6),
                sent_to="NMPA; ethics committee",
            ),
            actor=actor,
        )
    services.safety_report_add(
        report=SafetyReport(
            adverse_event=ae,
            kind="follow_up",
            sent_at=ae.awareness_at + dt.timedelta(days=8),
            sent_to="Sponsor pharmacovigilance",
            follows=initial,
            notes="Outcome update",
        ),
        actor=actor,
    )


def _death(participant: Participant, coordinator, investigator) -> None:
    """The respiratory failure of MDA5-003 became fatal; the DSMB reviewed the stopping rule."""
    ae = AdverseEvent.objects.get(participant=participant, term__term="Respiratory failure")
    death_day = participant.first_dose_date + dt.timedelta(days=19)
    services.ae_follow_up_add(
        follow_up=AeFollowUp(
            adverse_event=ae, on_date=death_day, grade=5, note="Died of progressive RP-ILD"
        ),
        actor=coordinator,
    )
    ae.refresh_from_db()
    ae.sae_death = True
    services.adverse_event_report(
        ae=ae, actor=coordinator, expected_version=ae.version, reason="Death criterion added"
    )
    for alert in services.stopping_rules_check():
        if alert.rule == "death":
            services.alert_acknowledge(
                alert=alert,
                actor=investigator,
                comment=(
                    "DSMB reviewed: death attributed to progression of anti-MDA5 RP-ILD; "
                    "enrollment continues."
                ),
            )
