"""Every protocol setting of NCT06919380 in one place (shared/clinical/PROTOCOL.md).

A protocol amendment is a reviewed change of this module. Values here are read by the schedule
engine, the forms' edit checks, the enrollment service and, later, dosing, safety and reports.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from crf.schedule import Anchor, VisitDef

STUDY_ID = "NCT06919380"
SITE_ID = "GZMU1"
SITE_NAME = "First Affiliated Hospital of Guangzhou Medical University"

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
