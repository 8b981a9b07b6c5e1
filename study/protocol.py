"""Every protocol setting of NCT06919380 in one place (shared/clinical/PROTOCOL.md).

A protocol amendment is a reviewed change of this module. Values here are read by the schedule
engine, the forms' edit checks, the enrollment service and, later, dosing, safety and reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from crf.editchecks import Range
from crf.schedule import Anchor, VisitDef

STUDY_ID = "NCT06919380"
SITE_ID = "GZMU1"
SITE_NAME = gettext_noop("First Affiliated Hospital of Guangzhou Medical University")

# Section 1: enrollment.
ENROLLMENT_CAP = 10
PARTICIPANT_ID_FORMAT = "MDA5-{number:03d}"  # MDA5-001, MDA5-002, ... allocated in order

# Section 2: eligibility.
AGE_MIN = 18
AGE_MAX = 75
# The computed RP-ILD hint: radiological worsening within this many days of symptom onset.
RPILD_HINT_WINDOW_DAYS = 90
# Screening happens from study day -14 to day 1 (before the first dose).
SCREENING_WINDOW_DAYS = 14

# Section 4: dosing.
DOSING_DAYS = 14

# Section 3: schedule of assessments. Windows are in days around the target.
VISITS: tuple[VisitDef, ...] = (
    VisitDef(
        code="baseline",
        label=gettext_noop("Baseline"),
        anchor=Anchor.FIRST_DOSE,
        offset=1,
        before=3,
        after=0,
        forms=("vitals", "oxygenation", "labs", "pft", "hrct", "6mwt", "conmeds"),
    ),
    VisitDef(
        code="day14",
        label=gettext_noop("Day 14"),
        anchor=Anchor.FIRST_DOSE,
        offset=14,
        before=1,
        after=1,
        forms=("vitals", "oxygenation", "labs", "hrct", "pft"),
    ),
    VisitDef(
        code="day28",
        label=gettext_noop("Day 28"),
        anchor=Anchor.FIRST_DOSE,
        offset=28,
        before=3,
        after=3,
        forms=("vitals", "oxygenation", "labs", "hrct", "pft", "6mwt"),
    ),
    VisitDef(
        code="safety30",
        label=gettext_noop("Safety follow-up (last dose + 30 days)"),
        anchor=Anchor.LAST_DOSE,
        offset=30,
        before=3,
        after=3,
        forms=("ae_review", "survival"),
    ),
    VisitDef(
        code="month3",
        label=gettext_noop("Month 3"),
        anchor=Anchor.FIRST_DOSE,
        offset=90,
        before=14,
        after=14,
        forms=("vitals", "oxygenation", "labs", "pft", "hrct", "survival"),
    ),
    VisitDef(
        code="month6",
        label=gettext_noop("Month 6"),
        anchor=Anchor.FIRST_DOSE,
        offset=180,
        before=14,
        after=14,
        forms=("vitals", "oxygenation", "labs", "pft", "hrct", "survival"),
    ),
    VisitDef(
        code="month12",
        label=gettext_noop("Month 12"),
        anchor=Anchor.FIRST_DOSE,
        offset=365,
        before=30,
        after=30,
        forms=("vitals", "oxygenation", "labs", "pft", "hrct", "survival", "end_of_study"),
    ),
)

# Section 4: the dose. The investigator's brochure gives the dose; these defaults are what the
# dose form proposes, and a different recorded value needs a reason.
DOSE_PARTICLES_DEFAULT = 200_000_000  # 2.0 x 10^8 particles per nebulization
DOSE_VOLUME_ML_DEFAULT = 3.0
# An inhalation desaturation: SpO2 falls by at least this many points, or ends below the floor.
DESATURATION_DROP = 4
DESATURATION_FLOOR = 88
# Doses not recorded by this hour (site time) are reminded to the coordinators.
DOSE_REMINDER_HOUR = 16

# Section 9: edit-check ranges. Soft: accepted once the user confirms, and flagged for the
# monitor. Hard: rejected.
RANGES = {
    "temperature": Range(soft=(35.0, 40.5), hard=(30, 45), unit="°C"),
    "heart_rate": Range(soft=(40, 150), hard=(20, 250), unit="/min"),
    "resp_rate": Range(soft=(8, 40), hard=(4, 80), unit="/min"),
    "sbp": Range(soft=(80, 200), hard=(40, 300), unit="mmHg"),
    "dbp": Range(soft=(40, 120), hard=(20, 200), unit="mmHg"),
    "spo2": Range(soft=(80, 100), hard=(50, 100), unit="%"),
    "fio2": Range(soft=(0.21, 1.0), hard=(0.21, 1.0), unit=""),
    "o2_flow": Range(soft=(0, 60), hard=(0, 80), unit="L/min"),
    "pao2": Range(soft=(40, 300), hard=(20, 700), unit="mmHg"),
    "paco2": Range(soft=(25, 60), hard=(10, 150), unit="mmHg"),
    "ph": Range(soft=(7.20, 7.55), hard=(6.8, 7.8), unit=""),
    "ferritin": Range(soft=(10, 20000), hard=(0, 100000), unit="ng/mL"),
    "ldh": Range(soft=(100, 1000), hard=(20, 10000), unit="U/L"),
    "crp": Range(soft=(0, 200), hard=(0, 500), unit="mg/L"),
    "kl6": Range(soft=(100, 5000), hard=(0, 50000), unit="U/mL"),
    "lymphocytes": Range(soft=(0.2, 4), hard=(0, 50), unit="10^9/L"),
    "ck": Range(soft=(20, 2000), hard=(0, 100000), unit="U/L"),
    "fvc_l": Range(soft=(0.5, 6), hard=(0.2, 9), unit="L"),
    "fvc_pct": Range(soft=(30, 130), hard=(5, 200), unit="%"),
    "dlco_pct": Range(soft=(15, 130), hard=(5, 200), unit="%"),
    "six_mwd": Range(soft=(50, 700), hard=(0, 1000), unit="m"),
    "weight": Range(soft=(35, 150), hard=(20, 300), unit="kg"),
    "height": Range(soft=(140, 200), hard=(100, 230), unit="cm"),
    "dose_volume": Range(soft=(1, 10), hard=(0.5, 20), unit="mL"),
}

# Section 6: adverse events.
# Reports of a serious event: initial report to the sponsor and ethics committee within 24 hours
# of awareness; SUSAR expedited report within 7 days (fatal or life-threatening) or 15 days.
SAE_INITIAL_REPORT_HOURS = 24
SUSAR_FATAL_DAYS = 7
SUSAR_OTHER_DAYS = 15
# The primary-endpoint window: from the first dose to this many days after the last dose.
AE_WINDOW_DAYS_AFTER_LAST_DOSE = 30
# Email addresses outside the portal that receive every SAE alert (sponsor pharmacovigilance).
SAFETY_CONTACT_EMAILS: tuple[str, ...] = ("pv@sponsor.example.org",)
# Stopping rules (they alert, never block data entry).
STOP_RELATED_GRADE = 4  # any grade >= 4 AE at least possibly related
STOP_CLUSTER_GRADE = 3  # >= 2 participants with the same grade >= 3 related AE
STOP_CLUSTER_PARTICIPANTS = 2
STOP_AIRWAY_TERMS = ("Anaphylaxis", "Bronchospasm")  # needing intubation (grade >= 4) ...
STOP_AIRWAY_HOURS = 24  # ... within this many hours of a dose
INDIVIDUAL_STOP_GRADE = 3  # a participant's grade >= 3 related AE stops their dosing
INDIVIDUAL_STOP_TERMS = ("Allergic reaction", "Anaphylaxis")  # hypersensitivity

# Section 5: outcome CRFs.
# Nasal-cannula FiO2 estimate: 21 % + 4 % per L/min (stored with its source).
FIO2_ROOM_AIR = 0.21
FIO2_PER_LITRE_NASAL = 0.04
# Berlin bands of the P/F ratio (mmHg): (upper bound inclusive, label); above the first: normal.
PF_BANDS = ((100, "severe"), (200, "moderate"), (300, "mild"))
# S/F ratio is reported only when SpO2 is at or below this value (the oximeter curve is flat above).
SF_MAX_SPO2 = 97
# Change flags from baseline (percentage points of predicted).
FVC_CHANGE_FLAG = 10
DLCO_CHANGE_FLAG = 15
# HRCT score (primary method): 5 lobes x 3 patterns, each 0-5 by extent.
HRCT_LOBES = ("rul", "rml", "rll", "lul", "lll")
HRCT_PATTERNS = ("gg", "cons", "fib")
# Glucocorticoid potency relative to prednisone (prednisone-equivalent mg = dose x factor).
PREDNISONE_EQUIVALENT = {
    "prednisone": 1.0,
    "prednisolone": 1.0,
    "methylprednisolone": 1.25,
    "dexamethasone": 6.67,
    "hydrocortisone": 0.25,
}


@dataclass(frozen=True)
class Analyte:
    label: str
    unit: str  # the unit analyses use
    normal: tuple[float | None, float | None] = (None, None)
    range_name: str | None = None  # an edit-check range of RANGES, in `unit`
    other_units: tuple[tuple[str, float], ...] = ()  # (unit, factor to `unit`)
    qualitative: bool = False


LABS = {
    "ferritin": Analyte(
        gettext_noop("Ferritin"), "ng/mL", (15, 150), "ferritin", (("pmol/L", 1 / 2.247),)
    ),
    "crp": Analyte(gettext_noop("C-reactive protein"), "mg/L", (0, 10), "crp", (("mg/dL", 10.0),)),
    "ldh": Analyte(gettext_noop("Lactate dehydrogenase"), "U/L", (120, 250), "ldh"),
    "kl6": Analyte(gettext_noop("KL-6"), "U/mL", (0, 500), "kl6"),
    "il6": Analyte(gettext_noop("Interleukin-6"), "pg/mL", (0, 7)),
    "ck": Analyte(gettext_noop("Creatine kinase"), "U/L", (40, 200), "ck"),
    "ast": Analyte(gettext_noop("AST"), "U/L", (13, 35)),
    "alt": Analyte(gettext_noop("ALT"), "U/L", (7, 40)),
    "albumin": Analyte(gettext_noop("Albumin"), "g/L", (40, 55)),
    "wbc": Analyte(gettext_noop("White blood cells"), "10^9/L", (3.5, 9.5)),
    "lymphocytes": Analyte(gettext_noop("Lymphocytes"), "10^9/L", (1.1, 3.2), "lymphocytes"),
    "neutrophils": Analyte(gettext_noop("Neutrophils"), "10^9/L", (1.8, 6.3)),
    "haemoglobin": Analyte(gettext_noop("Haemoglobin"), "g/L", (115, 150)),
    "platelets": Analyte(gettext_noop("Platelets"), "10^9/L", (125, 350)),
    "cd4": Analyte(gettext_noop("CD4+ T cells"), "cells/\u00b5L", (404, 1612)),
    "mda5_titre": Analyte(gettext_noop("Anti-MDA5 titre"), "", qualitative=True),
    "ro52": Analyte(gettext_noop("Anti-Ro52"), "", qualitative=True),
    "ebv_dna": Analyte(gettext_noop("EBV DNA"), "copies/mL", (None, 500)),
    "cmv_dna": Analyte(gettext_noop("CMV DNA"), "copies/mL", (None, 500)),
}
