"""Demo visits with plausible values: most courses improve, one worsens and ends in death."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from crf.services import record_create
from enrollment.models import Participant
from outcomes import selectors
from outcomes.models import (
    ConMed,
    HrctScore,
    LabResult,
    Oxygenation,
    PulmonaryFunction,
    SixMinuteWalk,
    Survival,
    Visit,
    VitalSigns,
)
from outcomes.services import lab_results_save, visit_save
from study import protocol

# How each participant's disease evolves: a fraction from 0 (baseline) towards 1 (the best seen)
# at each visit; negative values are worsening.
COURSES = {
    "MDA5-001": {
        "baseline": 0,
        "day14": 0.3,
        "day28": 0.55,
        "safety30": 0.65,
        "month3": 0.8,
        "month6": 0.9,
    },
    "MDA5-002": {
        "baseline": 0,
        "day14": 0.1,
        "day28": 0.25,
        "safety30": 0.3,
        "month3": 0.4,
        "month6": 0.45,
    },
    "MDA5-003": {"baseline": 0, "day14": -0.6},
    "MDA5-004": {"baseline": 0, "day14": 0.2, "day28": 0.45, "safety30": 0.55, "month3": 0.7},
    # Withdrawn from dosing on day 11, followed up as planned (safety follow-up from day 9).
    "MDA5-005": {"baseline": 0, "day14": 0.15, "day28": 0.3, "safety30": 0.35},
    "MDA5-006": {"baseline": 0, "day14": 0.25},
    "MDA5-007": {"baseline": 0},
    "MDA5-008": {"baseline": 0},
}
# (baseline, best) of each endpoint.
SPAN = {
    "pf": (170, 330),
    "fvc_pct": (58, 78),
    "dlco_pct": (38, 60),
    "ferritin": (1800, 350),
    "crp": (28, 4),
    "ldh": (420, 210),
    "kl6": (1600, 650),
    "lymphocytes": (0.45, 1.3),
    "ck": (180, 90),
    "hrct": (3, 1),  # per lobe and pattern, ground glass; consolidation and fibrosis follow
    "six_mwd": (240, 430),
}


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _at(name: str, f: float) -> float:
    start, best = SPAN[name]
    return start + (best - start) * f


def demo_outcomes_load() -> None:
    users = get_user_model().objects
    coordinator = users.get(username="coordinator")
    today = timezone.localdate()
    participants = list(Participant.objects.select_related("exit"))
    schedules = selectors.schedules(participants, today)
    for participant in participants:
        course = COURSES.get(participant.participant_id, {})
        for code, f in course.items():
            item = schedules[participant.pk].get(code)
            if item.target > today:
                continue
            visit = visit_save(
                visit=Visit(participant=participant, code=code, visit_date=item.target),
                actor=coordinator,
            )
            _crfs(visit, f, coordinator, participant.number)
        _conmeds(participant, coordinator)


def _crfs(visit: Visit, f: float, actor, seed: int) -> None:
    forms = set(visit.required_forms)
    severe = _at("pf", f) < 150
    if "vitals" in forms:
        record_create(
            record=VitalSigns(
                visit=visit,
                temperature=Decimal("36.8"),
                heart_rate=round(100 - 15 * f),
                resp_rate=round(24 - 6 * f),
                sbp=122 + seed,
                dbp=76,
                spo2=round(92 + 4 * f) if not severe else 88,
                weight=Decimal("58.0") + seed,
                height=Decimal("163"),
            ),
            actor=actor,
        )
    if "oxygenation" in forms:
        fio2 = Decimal("0.33") if f < 0.6 else Decimal("0.25")
        if severe:
            fio2 = Decimal("0.60")
        pao2 = round(_at("pf", f) * float(fio2))
        device = "hfnc" if severe else "nasal_cannula"
        record_create(
            record=Oxygenation(
                visit=visit,
                sampled_at=dt.time(7, 30),
                o2_device=device,
                o2_flow=Decimal(40 if severe else (3 if f < 0.6 else 1)),
                fio2=fio2,
                fio2_source="set" if severe else "estimated",
                pao2=pao2,
                paco2=36,
                ph=Decimal("7.44"),
                spo2=round(92 + 4 * f) if not severe else 88,
            ),
            actor=actor,
        )
    if "pft" in forms:
        record_create(
            record=PulmonaryFunction(
                visit=visit,
                done=not severe,
                not_done_reason="On HFNC, too unwell" if severe else "",
                fvc_l=None if severe else Decimal(str(round(1.9 + 0.7 * f, 2))),
                fvc_pct=None if severe else round(_at("fvc_pct", f)),
                fev1_l=None if severe else Decimal(str(round(1.6 + 0.55 * f, 2))),
                fev1_pct=None if severe else round(_at("fvc_pct", f) + 4),
                dlco_value=None if severe else Decimal(str(round(3.4 + 1.8 * f, 2))),
                dlco_unit="" if severe else "mmol/min/kPa",
                dlco_pct=None if severe else round(_at("dlco_pct", f)),
                dlco_hb_corrected=None if severe else True,
                reference_equation="GLI 2012",
            ),
            actor=actor,
        )
    if "6mwt" in forms:
        record_create(
            record=SixMinuteWalk(
                visit=visit,
                done=not severe and f >= 0,
                not_done_reason="Oxygen requirement too high" if severe or f < 0 else "",
                distance_m=None if severe or f < 0 else round(_at("six_mwd", f)),
                spo2_pre=94,
                spo2_nadir=86 if f < 0.5 else 90,
                hr_pre=92,
                hr_post=124,
                borg_dyspnoea=4,
                borg_fatigue=3,
                o2_flow=Decimal(2),
            ),
            actor=actor,
        )
    if "labs" in forms:
        values = {
            "ferritin": (_at("ferritin", f), "ng/mL"),
            "crp": (_at("crp", f), "mg/L"),
            "ldh": (_at("ldh", f), "U/L"),
            "kl6": (_at("kl6", f), "U/mL"),
            "lymphocytes": (_at("lymphocytes", f), "10^9/L"),
            "ck": (_at("ck", f), "U/L"),
        }
        results = []
        for code, (value, unit) in values.items():
            low, high = protocol.LABS[code].normal
            results.append(
                LabResult(
                    visit=visit,
                    analyte=code,
                    value=Decimal(str(round(value, 2))),
                    unit=unit,
                    normal_low=_dec(low),
                    normal_high=_dec(high),
                    clinically_significant=code in ("ferritin", "kl6") and f < 0.5,
                )
            )
        results.append(
            LabResult(visit=visit, analyte="mda5_titre", text_value="+++" if f < 0.5 else "++")
        )
        lab_results_save(visit=visit, changes=[(r, None) for r in results], actor=actor)
    if "hrct" in forms:
        gg = max(0, min(5, round(_at("hrct", f))))
        record_create(
            record=HrctScore(
                visit=visit,
                scan_date=visit.visit_date,
                reader="Dr Lin (radiology)",
                blinded=True,
                dominant_pattern="nsip_op",
                **{f"gg_{lobe}": gg for lobe in protocol.HRCT_LOBES},
                **{
                    f"cons_{lobe}": max(0, gg - (1 if lobe in ("rll", "lll") else 2))
                    for lobe in protocol.HRCT_LOBES
                },
                **{f"fib_{lobe}": 1 if f > 0.5 else 2 for lobe in protocol.HRCT_LOBES},
            ),
            actor=actor,
        )
    if "survival" in forms:
        record_create(
            record=Survival(
                visit=visit, vital_status="alive", support="room_air" if f > 0.6 else "oxygen"
            ),
            actor=actor,
        )


def _conmeds(participant: Participant, actor) -> None:
    first = participant.first_dose_date
    for drug, gc, dose, freq, route, start, stop in (
        ("Methylprednisolone", "methylprednisolone", 40, "bid", "IV", -10, 20),
        ("Prednisone", "prednisone", 40, "qd", "oral", 21, None),
        ("Tacrolimus", "", 1, "bid", "oral", -10, None),
        ("Trimethoprim-sulfamethoxazole", "", 480, "qd", "oral", -10, None),
    ):
        stop_date = first + dt.timedelta(days=stop) if stop is not None else None
        if stop_date and stop_date > timezone.localdate():
            stop_date = None
        start_date = first + dt.timedelta(days=start)
        if start_date > timezone.localdate():
            continue
        record_create(
            record=ConMed(
                participant=participant,
                drug=drug,
                glucocorticoid=gc,
                dose=Decimal(dose),
                unit="mg",
                route=route,
                frequency=freq,
                start_date=start_date,
                stop_date=stop_date,
                indication="Anti-MDA5 DM with RP-ILD",
            ),
            actor=actor,
        )
