"""An eligible screen, written once: the demo trial and the test factories both build on it."""

from __future__ import annotations

import datetime as dt

from enrollment.models import age_on


def eligible_answers(screened: dt.date, *, born: dt.date, sex: str = "F") -> dict:
    """Answers of a screen that meets every criterion (model field values), dated around
    `screened`: an anti-MDA5-positive dermatomyositis with rapidly progressive ILD confirmed
    within the protocol's windows. A woman under 50 is of childbearing potential with a negative
    pregnancy test on the day of screening."""
    before = lambda days: screened - dt.timedelta(days=days)  # noqa: E731
    childbearing = age_on(born, screened) < 50 if sex == "F" else None
    return {
        "screening_date": screened,
        "date_of_birth": born,
        "sex": sex,
        "dm_classification": "cadm",
        "mda5_assay": "line_blot",
        "mda5_test_date": before(8),
        "mda5_result": "positive",
        "mda5_titre": "3+",
        "mda5_value": None,
        "mda5_unit": "",
        "symptom_onset_date": before(58),
        "ild_diagnosis_date": before(38),
        "hrct_progression": True,
        "hrct_first_date": before(38),
        "hrct_progression_date": before(3),
        "mmrc": 3,
        "pf_ratio_first": 280,
        "pf_ratio_first_date": before(28),
        "pf_ratio_latest": 190,
        "pf_ratio_latest_date": before(1),
        "fvc_pct": 62,
        "dlco_pct": 41,
        "rpild_confirmed": True,
        "pregnant_or_breastfeeding": False,
        "severe_allergy": False,
        "active_pulmonary_infection": False,
        "pulmonary_embolism": False,
        "extracorporeal_support": False,
        "other_unsafe": False,
        "other_unsafe_text": "",
        "childbearing_potential": childbearing,
        "pregnancy_test_date": screened if childbearing else None,
        "pregnancy_test_result": "negative" if childbearing else "",
    }
